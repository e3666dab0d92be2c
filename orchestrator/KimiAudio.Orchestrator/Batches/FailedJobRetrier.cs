using KimiAudio.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// POST /batches/{id}/retry-failed: puts the batch's failed jobs (and only those) back to pending page by page, then
/// publishes one <see cref="ProcessAudio"/> per job and marks them queued, exactly as submission does. The workers run
/// them as new jobs (fresh attempts; segment checkpoints are reused). A crash after a page is requeued but before it is
/// published loses nothing: the rows carry a publish deadline that the sweeper honours.
/// </summary>
public sealed class FailedJobRetrier(BatchRepository repository, IBus bus, IOptions<OrchestratorOptions> options, ILogger<FailedJobRetrier> logger)
{
    public async Task<RetryFailedResult> RetryAsync(Guid batchId, CancellationToken ct)
    {
        var pageSize = options.Value.PageSize;
        int requeued = 0, afterSeq = 0;
        while (true)
        {
            var deadline = DateTime.UtcNow.AddSeconds(options.Value.PublishGraceSeconds);
            var page = await repository.RequeueFailedPageAsync(batchId, afterSeq, pageSize, deadline, ct);
            if (page is null) return RetryFailedResult.NotFound;
            if (page.Cancelled) return RetryFailedResult.BatchCancelled;
            if (page.Jobs.Count == 0) break;
            await Task.WhenAll(page.Jobs.Select(j => bus.Publish(ProcessAudioFactory.Create(batchId, page.Batch, j), c => c.SetPriority(page.Batch.Priority), ct)));
            await repository.MarkQueuedAsync(page.Jobs.Select(j => j.JobId).ToArray(), ct);
            requeued += page.Jobs.Count;
            afterSeq = page.Jobs[^1].Seq;
            if (page.Jobs.Count < pageSize) break;
        }
        logger.LogInformation("Batch {BatchId}: {Count} failed job(s) queued again", batchId, requeued);
        return new RetryFailedResult(true, false, requeued);
    }
}

public sealed record RetryFailedResult(bool Found, bool Cancelled, int Requeued)
{
    public static readonly RetryFailedResult NotFound = new(false, false, 0);
    public static readonly RetryFailedResult BatchCancelled = new(true, true, 0);
}
