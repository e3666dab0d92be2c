using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using KimiAudio.Orchestrator.Schedules;
using KimiAudio.Pipeline.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace KimiAudio.Pipeline.Tests;

/// <summary>Cron schedules on real Postgres/RabbitMQ/S3 with real orchestrator hosts (two of them where it matters).</summary>
public sealed class ScheduleTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> FastTicks = new()
    {
        ["Schedules:IntervalSeconds"] = "0.2",
        ["Schedules:MisfireToleranceSeconds"] = "5",
    };

    private TestPipeline p = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.UploadAsync("sched/a.wav", TestAudio.ToneWav(0.5));
        await p.UploadAsync("sched/b.wav", TestAudio.ToneWav(0.7));
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    private async Task<JsonElement> CreateAsync(object request)
    {
        var response = await p.Api.PostAsJsonAsync("/schedules", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /schedules answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private Task<int> FiringsAsync(Guid scheduleId)
        => p.QuerySingleAsync<int>("SELECT count(*)::int FROM schedule_firings WHERE schedule_id = @scheduleId", new { scheduleId });

    private async Task WaitForFiringsAsync(Guid scheduleId, int atLeast, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await FiringsAsync(scheduleId) < atLeast)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {atLeast} firings after {timeout}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Two_orchestrators_fire_an_every_second_schedule_exactly_once_per_fire_time_each_with_one_batch()
    {
        await p.StartOrchestratorAsync(FastTicks);
        await p.StartOrchestratorAsync(FastTicks);
        var source = $"s3://{p.Bucket}/sched/";
        var created = await CreateAsync(new { name = "every-second", cron = "* * * * * *", timeZone = "UTC", source, task = "asr", missedRunPolicy = "run_once" });
        var scheduleId = created.GetProperty("scheduleId").GetGuid();

        await WaitForFiringsAsync(scheduleId, 8, TimeSpan.FromSeconds(60));
        // pausing takes the schedule's row lock, so it waits for a firing in progress; nothing fires afterwards
        Assert.Equal(HttpStatusCode.OK, (await p.Api.PostAsync($"/schedules/{scheduleId}/pause", null)).StatusCode);

        var firings = await p.QueryAsync<(DateTime FireTime, Guid? BatchId, string FiredBy)>(
            "SELECT fire_time, batch_id, fired_by FROM schedule_firings WHERE schedule_id = @scheduleId ORDER BY fire_time", new { scheduleId });
        var who = string.Join(", ", firings.GroupBy(f => f.FiredBy).Select(g => $"{g.Key}: {g.Count()}"));
        Assert.True(firings.Count >= 8, who);
        // consecutive seconds: no fire time twice and none left out
        for (var i = 1; i < firings.Count; i++) Assert.Equal(TimeSpan.FromSeconds(1), firings[i].FireTime - firings[i - 1].FireTime);
        Assert.All(firings, f => Assert.NotNull(f.BatchId));
        Assert.Equal(firings.Count, firings.Select(f => f.BatchId).Distinct().Count());

        // every batch of this source came from exactly one firing, and each holds both files
        var batches = await p.QueryAsync<(Guid BatchId, int TotalJobs)>("SELECT batch_id, total_jobs FROM batches WHERE source = @source", new { source });
        Assert.Equal(firings.Select(f => f.BatchId!.Value).Order(), batches.Select(b => b.BatchId).Order());
        Assert.All(batches, b => Assert.Equal(2, b.TotalJobs));

        await Task.Delay(1500);
        Assert.Equal(firings.Count, await FiringsAsync(scheduleId));
        var lastFired = await p.QuerySingleAsync<DateTime>("SELECT last_fired_at FROM schedules WHERE schedule_id = @scheduleId", new { scheduleId });
        Assert.Equal(firings[^1].FireTime, lastFired);
    }

    [Fact]
    public async Task After_downtime_skip_jumps_to_the_next_future_time_and_run_once_fires_once()
    {
        await p.StartOrchestratorAsync(FastTicks);
        await p.StartOrchestratorAsync(FastTicks);
        var source = $"s3://{p.Bucket}/sched/";
        var skip = (await CreateAsync(new { name = "daily-skip", cron = "0 3 * * *", source, task = "asr", missedRunPolicy = "skip" })).GetProperty("scheduleId").GetGuid();
        var once = (await CreateAsync(new { name = "daily-once", cron = "0 3 * * *", source, task = "asr", missedRunPolicy = "run_once" })).GetProperty("scheduleId").GetGuid();

        // the orchestrators were "down" for three days: the due time is long past
        var now = DateTime.UtcNow;
        var threeDaysAgo = now.Date.AddDays(-3).AddHours(3);
        Assert.Equal(2, (await p.QueryAsync<int>("UPDATE schedules SET next_fire_at = @threeDaysAgo RETURNING 1", new { threeDaysAgo })).Count);
        var lastMissed = now.Date.AddHours(3) <= now ? now.Date.AddHours(3) : now.Date.AddDays(-1).AddHours(3);
        var nextFuture = lastMissed.AddDays(1);

        await WaitForFiringsAsync(once, 1, TimeSpan.FromSeconds(30));
        await Task.Delay(2000); // several more ticks of both instances

        var onceFirings = await p.QueryAsync<(DateTime FireTime, Guid? BatchId)>(
            "SELECT fire_time, batch_id FROM schedule_firings WHERE schedule_id = @once", new { once });
        var single = Assert.Single(onceFirings);
        Assert.Equal(lastMissed, single.FireTime);
        Assert.NotNull(single.BatchId);
        Assert.Equal(0, await FiringsAsync(skip));

        var next = await p.QueryAsync<(string Name, DateTime NextFireAt, DateTime? LastFiredAt)>("SELECT name, next_fire_at, last_fired_at FROM schedules ORDER BY name");
        Assert.Equal(("daily-once", nextFuture, (DateTime?)lastMissed), next[0]);
        Assert.Equal(("daily-skip", nextFuture, (DateTime?)null), next[1]);
        Assert.Equal(1, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM batches WHERE source = @source", new { source }));
    }

    [Fact]
    public async Task Pause_stops_firing_and_resume_starts_it_again()
    {
        await p.StartOrchestratorAsync(FastTicks);
        var id = (await CreateAsync(new { name = "pausable", cron = "* * * * * *", source = $"s3://{p.Bucket}/sched/", task = "caption" })).GetProperty("scheduleId").GetGuid();
        await WaitForFiringsAsync(id, 2, TimeSpan.FromSeconds(30));

        var paused = JsonDocument.Parse(await (await p.Api.PostAsync("/schedules/pausable/pause", null)).Content.ReadAsStringAsync()).RootElement;
        Assert.True(paused.GetProperty("paused").GetBoolean());
        var count = await FiringsAsync(id);
        await Task.Delay(3000);
        Assert.Equal(count, await FiringsAsync(id));
        Assert.True(JsonDocument.Parse(await p.Api.GetStringAsync($"/schedules/{id}")).RootElement.GetProperty("paused").GetBoolean());

        var resumed = await p.Api.PostAsync($"/schedules/{id}/resume", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        await WaitForFiringsAsync(id, count + 2, TimeSpan.FromSeconds(30));
        // the seconds of the pause were not caught up: there is a gap of more than 3 s
        var times = await p.QueryAsync<DateTime>("SELECT fire_time FROM schedule_firings WHERE schedule_id = @id ORDER BY fire_time", new { id });
        Assert.Contains(times.Zip(times.Skip(1)), pair => pair.Second - pair.First > TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_firing_whose_source_is_gone_records_why_and_the_schedule_goes_on()
    {
        await p.StartOrchestratorAsync(FastTicks);
        var id = (await CreateAsync(new { name = "gone", cron = "* * * * * *", source = "s3://kimia-no-such-bucket-here/x/", task = "asr" }))
            .GetProperty("scheduleId").GetGuid();
        await WaitForFiringsAsync(id, 2, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await p.Api.PostAsync("/schedules/gone/pause", null)).StatusCode);

        var firings = await p.QueryAsync<(Guid? BatchId, string? Error)>("SELECT batch_id, error FROM schedule_firings WHERE schedule_id = @id", new { id });
        Assert.All(firings, f => Assert.Null(f.BatchId));
        Assert.All(firings, f => Assert.False(string.IsNullOrWhiteSpace(f.Error)));
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM batches"));
        var view = JsonDocument.Parse(await p.Api.GetStringAsync("/schedules/gone")).RootElement;
        Assert.Equal(firings.Count, view.GetProperty("recentFirings").GetArrayLength());
        Assert.Contains(view.GetProperty("recentFirings")[0].GetProperty("error").GetString(), firings.Select(f => f.Error));
    }

    [Fact]
    public async Task An_orchestrator_with_an_invalid_schedule_tick_refuses_to_start()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => p.StartOrchestratorAsync(new Dictionary<string, string?> { ["Schedules:IntervalSeconds"] = "0" }));
        Assert.Contains("IntervalSeconds", error.Message);
    }

    [Fact]
    public async Task Bad_fields_get_400_naming_the_field_and_unknown_schedules_404()
    {
        await p.StartOrchestratorAsync(FastTicks);
        var good = new Dictionary<string, object?>
        {
            ["name"] = "nightly", ["cron"] = "0 3 * * *", ["timeZone"] = "Europe/Berlin", ["source"] = $"s3://{p.Bucket}/sched/", ["task"] = "asr",
        };
        async Task ExpectBadField(string field, object? value, string expectedField)
        {
            var request = new Dictionary<string, object?>(good) { [field] = value };
            var response = await p.Api.PostAsJsonAsync("/schedules", request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{field}={value}: {(int)response.StatusCode} {body}");
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(expectedField, out _), $"{field}={value}: {body}");
        }
        await ExpectBadField("cron", "61 * * * *", "cron");
        await ExpectBadField("cron", "* * *", "cron");
        await ExpectBadField("cron", "0 0 30 2 *", "cron"); // 30 February never comes
        await ExpectBadField("cron", null, "cron");
        await ExpectBadField("timeZone", "Mars/Olympus_Mons", "timeZone");
        await ExpectBadField("task", "Not A Task!", "task");
        await ExpectBadField("source", "http://example.com/x", "source");
        await ExpectBadField("missedRunPolicy", "always", "missedRunPolicy");
        await ExpectBadField("name", "", "name");
        await ExpectBadField("priority", 12, "priority");

        var created = await CreateAsync(good);
        Assert.Equal("Europe/Berlin", created.GetProperty("timeZone").GetString());
        var next = created.GetProperty("nextFireAt").GetDateTime().ToUniversalTime();
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Assert.Equal(new TimeSpan(3, 0, 0), TimeZoneInfo.ConvertTimeFromUtc(next, berlin).TimeOfDay);

        var duplicate = await p.Api.PostAsJsonAsync("/schedules", good);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.True(JsonDocument.Parse(await duplicate.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty("name", out _));

        var list = JsonDocument.Parse(await p.Api.GetStringAsync("/schedules")).RootElement.GetProperty("items");
        Assert.Equal("nightly", Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync($"/schedules/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync("/schedules/no-such-name")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.DeleteAsync($"/schedules/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.PostAsync("/schedules/no-such-name/pause", null)).StatusCode);

        using var anonymous = new HttpClient { BaseAddress = p.Api.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/schedules")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await p.Api.DeleteAsync("/schedules/nightly")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync($"/schedules/{created.GetProperty("scheduleId").GetGuid()}")).StatusCode);
    }
}

/// <summary>Exactly-once firing under deliberate contention: many concurrent rounds of both instances' runners.</summary>
public sealed class ScheduleContentionTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.UploadAsync("hot/a.wav", TestAudio.ToneWav(0.5));
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task Eight_concurrent_runner_loops_on_two_instances_fire_each_second_once()
    {
        // the hosted loops tick once an hour: this test drives the runners itself, four loops per instance at once
        var idle = new Dictionary<string, string?> { ["Schedules:IntervalSeconds"] = "3600", ["Schedules:MisfireToleranceSeconds"] = "5" };
        await p.StartOrchestratorAsync(idle);
        await p.StartOrchestratorAsync(idle);
        var response = await p.Api.PostAsJsonAsync("/schedules", new { name = "hot", cron = "* * * * * *", source = $"s3://{p.Bucket}/hot/", task = "asr", missedRunPolicy = "run_once" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var scheduleId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("scheduleId").GetGuid();

        var runners = p.Orchestrators.Select(o => o.Services.GetRequiredService<ScheduleRunner>()).ToList();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        var handledBy = new int[runners.Count];
        var loops = runners.SelectMany((runner, i) => Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Add(ref handledBy[i], await runner.FireDueAsync(CancellationToken.None));
                await Task.Delay(Random.Shared.Next(0, 20));
            }
        })));
        await Task.WhenAll(loops);

        var firings = await p.QueryAsync<(DateTime FireTime, Guid? BatchId, string FiredBy)>(
            "SELECT fire_time, batch_id, fired_by FROM schedule_firings WHERE schedule_id = @scheduleId ORDER BY fire_time", new { scheduleId });
        Assert.True(firings.Count >= 4, $"{firings.Count} firings");
        for (var i = 1; i < firings.Count; i++) Assert.Equal(TimeSpan.FromSeconds(1), firings[i].FireTime - firings[i - 1].FireTime);
        Assert.True(handledBy.Sum() >= 1 && handledBy.Sum() <= firings.Count, $"rounds that fired: {string.Join(", ", handledBy)}; firings {firings.Count}");
        var batches = await p.QueryAsync<Guid>("SELECT batch_id FROM batches WHERE source = @source", new { source = $"s3://{p.Bucket}/hot/" });
        Assert.Equal(firings.Select(f => f.BatchId!.Value).Order(), batches.Order());
        Assert.All(firings, f => Assert.Contains(f.FiredBy, runners.Select(r => r.InstanceId)));
    }
}
