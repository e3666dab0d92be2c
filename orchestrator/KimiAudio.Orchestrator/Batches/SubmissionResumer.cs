using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Finishes submissions whose orchestrator died (or failed) mid-listing: every few seconds takes over, one at a time, each
/// batch left 'submitting' (or cancelled before its listing finished) whose submission lease ran out, and goes on from its
/// checkpointed cursor. The lease taken with SKIP LOCKED is the lock: one replica resumes each batch.
/// </summary>
public sealed class SubmissionResumer(
    BatchRepository repository, BatchSubmitter submitter, OrchestratorInstance instance, IOptions<OrchestratorOptions> options, ILogger<SubmissionResumer> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.ResumeIntervalSeconds));
        do
        {
            try
            {
                await ResumeAllAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Resuming submissions failed; trying again next round");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    /// <summary>Resumes stalled submissions until none is left; returns how many were finished.</summary>
    public async Task<int> ResumeAllAsync(CancellationToken ct)
    {
        var resumed = 0;
        while (await repository.ClaimStalledSubmissionAsync(instance.Id, options.Value.SubmitLeaseSeconds, ct) is { } stalled)
        {
            var result = await submitter.ResumeAsync(stalled, ct);
            logger.LogInformation("Batch {BatchId}: resumed submission finished with {Total} job(s)", stalled.BatchId, result.TotalJobs);
            resumed++;
        }
        return resumed;
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
