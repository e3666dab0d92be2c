using KimiAudio.Chaos;
using KimiAudio.Pipeline.Tests.Support;
using Xunit.Abstractions;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// The short profile of bench/KimiAudio.Chaos: a few hundred files while workers are SIGKILLed, RabbitMQ and PostgreSQL
/// restart, S3 fails 10 % of requests, deliveries are duplicated and the orchestrator dies mid-submission. Passes only
/// with nothing lost, nothing duplicated, no orphaned object and every planned fault injected.
/// </summary>
public sealed class ChaosSoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_short_soak_loses_nothing_and_duplicates_nothing()
    {
        var log = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var report = await new ChaosSoak(ChaosProfile.Short(seed: 7), ServiceScript.Services, log).RunAsync(timeout.Token);
        output.WriteLine(log.ToString());
        output.WriteLine(report.ToTable());
        Assert.True(report.Passed, report.ToTable() + "\n" + log);
    }
}
