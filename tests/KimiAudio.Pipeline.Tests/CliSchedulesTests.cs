using System.Net;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>`kimia schedules add|list|pause|resume|remove` through a real orchestrator.</summary>
public sealed class CliSchedulesTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private Dictionary<string, string?> env = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.StartOrchestratorAsync(new Dictionary<string, string?> { ["Schedules:IntervalSeconds"] = "0.2" });
        env = new Dictionary<string, string?> { ["KIMIA_API"] = p.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = p.ApiKey };
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task A_schedule_is_added_listed_paused_resumed_and_removed()
    {
        var added = await KimiaCli.RunAsync(env, "schedules", "add", "nightly", "--cron", "30 2 * * *", "--time-zone", "America/New_York",
            "--source", $"s3://{p.Bucket}/in/", "--task", "caption", "--missed", "run_once");
        Assert.True(added.ExitCode == 0, added.ToString());
        var id = Guid.Parse(added.Stdout);
        Assert.Equal(("nightly", "America/New_York", "run_once", false), await p.QuerySingleAsync<(string, string, string, bool)>(
            "SELECT name, time_zone, missed_run_policy, paused FROM schedules WHERE schedule_id = @id", new { id }));

        var list = await KimiaCli.RunAsync(env, "schedules", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        var line = Assert.Single(list.Stdout.Split('\n'), l => l.StartsWith("nightly", StringComparison.Ordinal));
        Assert.Contains("30 2 * * *", line);
        Assert.Contains("active", line);

        Assert.Equal(0, (await KimiaCli.RunAsync(env, "schedules", "pause", "nightly")).ExitCode);
        Assert.True(await p.QuerySingleAsync<bool>("SELECT paused FROM schedules WHERE schedule_id = @id", new { id }));
        Assert.Contains("paused", (await KimiaCli.RunAsync(env, "schedules", "list")).Stdout);
        Assert.Equal(0, (await KimiaCli.RunAsync(env, "schedules", "resume", id.ToString())).ExitCode);
        Assert.False(await p.QuerySingleAsync<bool>("SELECT paused FROM schedules WHERE schedule_id = @id", new { id }));

        Assert.Equal(0, (await KimiaCli.RunAsync(env, "schedules", "remove", "nightly")).ExitCode);
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM schedules"));
    }

    [Fact]
    public async Task Bad_arguments_name_the_field_and_unknown_schedules_or_keys_fail()
    {
        var badCron = await KimiaCli.RunAsync(env, "schedules", "add", "x", "--cron", "99 * * * *", "--source", $"s3://{p.Bucket}/in/");
        Assert.Equal(1, badCron.ExitCode);
        Assert.Contains("cron:", badCron.Stderr);
        Assert.Contains("400", badCron.Stderr);

        var badZone = await KimiaCli.RunAsync(env, "schedules", "add", "x", "--cron", "0 * * * *", "--time-zone", "Nowhere/Land", "--source", $"s3://{p.Bucket}/in/");
        Assert.Equal(1, badZone.ExitCode);
        Assert.Contains("timeZone:", badZone.Stderr);

        var badPolicy = await KimiaCli.RunAsync(env, "schedules", "add", "x", "--cron", "0 * * * *", "--missed", "sometimes", "--source", $"s3://{p.Bucket}/in/");
        Assert.NotEqual(0, badPolicy.ExitCode);
        Assert.Contains("sometimes", badPolicy.Stderr);

        var unknown = await KimiaCli.RunAsync(env, "schedules", "pause", "ghost");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr);

        var noKey = await KimiaCli.RunAsync(new Dictionary<string, string?>(env) { ["KIMIA_API_KEY"] = null }, "schedules", "list");
        Assert.Equal(1, noKey.ExitCode);
        Assert.Contains("401", noKey.Stderr);
        Assert.Contains("an API key is required", noKey.Stderr);
        Assert.Equal(HttpStatusCode.OK, (await p.Api.GetAsync("/schedules")).StatusCode);
    }
}
