using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>What a job's fault means: permanent (fail now) or transient (retry after an exponential back-off).</summary>
public sealed record FaultDecision(bool Permanent, string Reason, string ReasonLabel);

/// <summary>
/// Decides and records a job's fault. Permanent faults (bad input, a request the model rejects) fail the job at once;
/// any other fault ends the attempt and the job is redelivered after base × 2^(attempt-1) s (±20 % jitter), or fails
/// once its batch's max_attempts are used (decided in SQL). Each job's fault is its own.
/// </summary>
public sealed class FaultPolicy(IJobStore store, WorkerIdentity identity, IOptions<WorkerOptions> options, WorkerTelemetry telemetry, ILogger<FaultPolicy> logger)
{
    public static bool IsPermanent(Exception ex)
        => ex is AudioDecodeException or ObjectNotFoundException or ObjectTooLargeException or EngineRejectedException or PermanentJobException;

    /// <param name="fallbackLabel">The metric label of a fault of no known kind (e.g. "engine" while the job is in the model).</param>
    public static FaultDecision Classify(Exception ex, string fallbackLabel = "other") => new(IsPermanent(ex), Describe(ex), WorkerTelemetry.ReasonOf(ex, fallbackLabel));

    /// <summary>Seconds until attempt <paramref name="attempt"/>'s successor is due; <paramref name="jitter"/> in [0, 1).</summary>
    public static double RetryDelaySeconds(double baseSeconds, int attempt, double jitter)
        => baseSeconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 16)) * (0.8 + 0.4 * jitter);

    private static string Describe(Exception ex) => ex switch
    {
        AudioDecodeException => $"undecodable audio: {ex.Message}",
        EngineRejectedException => $"rejected by the model: {ex.Message}",
        _ when IsPermanent(ex) => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    /// <summary>Writes the fault's consequence for the job (only while this worker holds its lease) and ends its span.</summary>
    public async Task<JobOutcome> RecordAsync(ClaimedJob job, Exception ex, string fallbackLabel, CancellationToken ct)
    {
        var m = job.Message;
        var decision = Classify(ex, fallbackLabel);
        telemetry.Failed(decision.ReasonLabel);
        WorkerTelemetry.RecordError(job.Span, ex, decision.ReasonLabel);
        if (decision.Permanent)
        {
            logger.LogWarning("Job {JobId} ({Key}) failed permanently: {Reason}", m.JobId, m.Input.Key, decision.Reason);
            var failed = await store.FailAsync(m.JobId, identity.Id, decision.Reason, job.AudioSeconds, ct);
            job.End(failed ? "failed" : "lease_lost", telemetry);
            return new JobOutcome(m, failed ? JobOutcomeKind.Failed : JobOutcomeKind.LeaseLost, decision.Reason);
        }
        var delay = RetryDelaySeconds(options.Value.RedeliveryBaseDelaySeconds, job.Attempt, Random.Shared.NextDouble());
        var state = await store.AttemptFailedAsync(m.JobId, identity.Id, $"attempt {job.Attempt}: {decision.Reason}", delay, ct);
        logger.LogWarning(ex, "Job {JobId} attempt {Attempt} failed ({State}): {Reason}", m.JobId, job.Attempt, state ?? "lease lost", decision.Reason);
        job.End(state switch { PipelineState.Job.Failed => "failed", PipelineState.Job.Queued => "retry", _ => "lease_lost" }, telemetry);
        return state switch
        {
            PipelineState.Job.Failed => new JobOutcome(m, JobOutcomeKind.AttemptsExhausted, decision.Reason),
            PipelineState.Job.Queued => new JobOutcome(m, JobOutcomeKind.RetryScheduled, decision.Reason),
            _ => new JobOutcome(m, JobOutcomeKind.LeaseLost, decision.Reason),
        };
    }
}
