using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KimiAudio.Bench.Pipeline;

/// <summary>Publish → consume rate of the bare broker with the pipeline's own bus configuration and message type.</summary>
public static class BrokerRate
{
    private static int consumed;
    private static TaskCompletionSource done = new();
    private static int expected;

    public static async Task<double> MeasureAsync(string rabbitUri, int count)
    {
        consumed = 0;
        expected = count;
        done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RabbitMq:Uri"] = rabbitUri }).Build())
            .AddLogging();
        services.AddPipelineMessaging(x => x.AddConsumer<CountingConsumer>().Endpoint(e => { e.Name = "bench-raw"; e.PrefetchCount = 64; e.ConcurrentMessageLimit = 64; }));
        await using var provider = services.BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        var endpoint = await bus.GetSendEndpoint(new Uri("queue:bench-raw"));
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => endpoint.Send(new ProcessAudio
        {
            JobId = NewId.NextGuid(),
            BatchId = Guid.Empty,
            Input = new ObjectRef { Bucket = "b", Key = $"k/{i}" },
            Task = "asr",
            OutputType = "text",
            Sampling = new SamplingOptions(),
            OptionsHash = "h",
        })));
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var rate = count / clock.Elapsed.TotalSeconds;
        await bus.StopAsync();
        return rate;
    }

    public sealed class CountingConsumer : IConsumer<ProcessAudio>
    {
        public Task Consume(ConsumeContext<ProcessAudio> context)
        {
            if (Interlocked.Increment(ref consumed) == expected) done.TrySetResult();
            return Task.CompletedTask;
        }
    }
}
