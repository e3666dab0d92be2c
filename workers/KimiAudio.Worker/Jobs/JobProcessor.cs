using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.Worker.Telemetry;
using Microsoft.Extensions.Logging;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// One job's life in this worker: take its lease → prepare its input (ahead of the model, within the prefetch budget)
/// → run its segments (sharing the engine's slots with every other job) → land its result. A fault is recorded
/// against this job only (<see cref="FaultPolicy"/>); shutdown hands the job back; anything else (e.g. Postgres gone
/// while recording the outcome) escapes so the message is retried.
/// </summary>
public sealed class JobProcessor(
    JobLease lease, InputPreparer preparer, SegmentRunner runner, JobFinisher finisher, FaultPolicy faults,
    WorkerTelemetry telemetry, ILogger<JobProcessor> logger)
{
    /// <param name="traceParent">The trace context the message was published in (the job span becomes its child).</param>
    public async Task<JobOutcome> ProcessAsync(ProcessAudio message, ActivityContext traceParent, CancellationToken ct)
    {
        var (attempt, whyNot) = await lease.TryTakeAsync(message.JobId, ct);
        if (attempt is not { } n) return new JobOutcome(message, JobOutcomeKind.Skipped, whyNot);

        var outer = Activity.Current;
        var job = ClaimedJob.Start(message, n, traceParent, telemetry); // its span becomes the current one: the steps' spans nest under it
        using var scope = logger.BeginScope(job.LogScope);
        var stage = "other";
        try
        {
            try
            {
                await preparer.PrepareAsync(job, ct);
                stage = "engine";
                await runner.RunAsync(job, ct);
                stage = "other";
                job.DropAudio(); // the samples are no longer needed: room for the next job's prefetch
                return await finisher.FinishAsync(job, ct);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                return await faults.RecordAsync(job, ex, stage, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            telemetry.Failed("cancelled");
            job.End("cancelled", telemetry);
            await lease.ReleaseOnShutdownAsync(message.JobId);
            throw;
        }
        catch (Exception)
        {
            // the outcome could not be recorded: the lease is left to expire and the message is retried
            job.End("aborted", telemetry);
            throw;
        }
        finally
        {
            job.DropAudio();
            lease.Drop(message.JobId);
            Activity.Current = outer;
        }
    }
}
