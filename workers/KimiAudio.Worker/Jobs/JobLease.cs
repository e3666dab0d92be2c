using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>Takes a job's lease (or says why not), keeps it renewed through the heartbeat, and hands it back on shutdown.</summary>
public sealed class JobLease(IJobStore store, WorkerIdentity identity, LeaseHeartbeat heartbeat, IOptions<WorkerOptions> options, ILogger<JobLease> logger)
{
    /// <returns>The attempt number, or null and why the job cannot be taken (already done, leased by a live worker, unknown).</returns>
    public async Task<(int? Attempt, string? WhyNot)> TryTakeAsync(Guid jobId, CancellationToken ct)
    {
        if (await store.TryClaimAsync(jobId, identity.Id, options.Value.LeaseSeconds, ct) is { } attempt)
        {
            heartbeat.Track(jobId);
            return (attempt, null);
        }
        var row = await store.GetStateAsync(jobId, ct);
        var why = row is null ? "no such job in the database" : $"job is {row.State}" + (row.LeaseOwner is { } o ? $", leased by {o}" : "");
        logger.LogInformation("Job {JobId} not taken: {Why}", jobId, why);
        return (null, why);
    }

    /// <summary>The job has its outcome (or is left to expire): its lease is no longer renewed.</summary>
    public void Drop(Guid jobId) => heartbeat.Untrack(jobId);

    /// <summary>Shutdown: hands the unfinished job back at once without counting the attempt.</summary>
    public async Task ReleaseOnShutdownAsync(Guid jobId)
    {
        heartbeat.Untrack(jobId);
        try
        {
            if (await store.ReleaseAsync([jobId], identity.Id, CancellationToken.None) > 0)
                logger.LogInformation("Shutdown: handed job {JobId} back", jobId);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shutdown: could not hand job {JobId} back; its lease will expire", jobId);
        }
    }
}
