using Amazon.S3;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Batches;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>
/// Every tick: fires the due schedules, each through <see cref="BatchSubmitter"/> (the same path as POST /batches, so
/// the incremental rule submits only new or changed files). Several orchestrators may run this at once: a schedule's
/// row lock and the (schedule, fire time) key make each firing happen exactly once.
/// </summary>
public sealed class ScheduleRunner(
    ScheduleRepository repository, BatchSubmitter submitter, TimeProvider clock, IOptions<ScheduleOptions> options, ILogger<ScheduleRunner> logger)
    : BackgroundService
{
    /// <summary>Recorded on each firing (fired_by).</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.IntervalSeconds), clock);
        do
        {
            try
            {
                await FireDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Firing schedules failed; trying again next tick");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    /// <summary>Fires every due schedule (up to MaxPerTick); returns how many schedules were handled.</summary>
    public async Task<int> FireDueAsync(CancellationToken ct)
    {
        var handled = 0;
        while (handled < options.Value.MaxPerTick && await repository.FireOneDueAsync(clock.GetUtcNow().UtcDateTime, s => FireAsync(s, ct), ct))
            handled++;
        return handled;
    }

    private async Task<ScheduleAdvance> FireAsync(ScheduleRow schedule, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var plan = CronSchedule.Parse(schedule.Cron, schedule.TimeZone)
            .Plan(schedule.NextFireAt, now, schedule.MissedRunPolicy, TimeSpan.FromSeconds(options.Value.MisfireToleranceSeconds));
        if (plan.Missed)
            logger.LogWarning("Schedule {Schedule} missed fire time(s) before {Now:O} (policy {Policy})", schedule.Name, now, schedule.MissedRunPolicy);
        var firings = new List<Firing>();
        foreach (var fireTime in plan.FireTimes) firings.Add(await SubmitAsync(schedule, fireTime, ct));
        return new ScheduleAdvance(firings, plan.NextFireAt, InstanceId);
    }

    private async Task<Firing> SubmitAsync(ScheduleRow schedule, DateTime fireTime, CancellationToken ct)
    {
        var batch = schedule.ToBatch();
        try
        {
            var result = await submitter.SubmitAsync(batch, ct);
            logger.LogInformation("Schedule {Schedule} fired for {FireTime:O}: batch {BatchId} ({Total} job(s), {Skipped} already annotated)",
                schedule.Name, fireTime, result.BatchId, result.TotalJobs, result.SkippedJobs);
            return new Firing(fireTime, result.BatchId, result.BatchId is null ? $"no objects found under {batch.Location}" : null);
        }
        catch (Exception ex) when (ex is ManifestFormatException or ObjectNotFoundException
                                   || ex is AmazonS3Exception { ErrorCode: "NoSuchBucket" })
        {
            // the source is wrong, not the system: record it and go on (a transient fault rolls back and is retried)
            logger.LogWarning("Schedule {Schedule} fired for {FireTime:O} but submitted nothing: {Reason}", schedule.Name, fireTime, ex.Message);
            return new Firing(fireTime, null, ex.Message);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
