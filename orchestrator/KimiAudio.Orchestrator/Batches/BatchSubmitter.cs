using KimiAudio.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Turns a validated request into a batch: streams the source page by page; per page finds content already annotated
/// with the same options (those jobs are 'skipped' and point at the earlier result), writes the job rows with one COPY in
/// the transaction that checkpoints the source cursor, publishes one <see cref="ProcessAudio"/> per remaining job (in
/// parallel, with the batch priority), then marks them queued.
/// Crash-safe: a crash between COPY and publish loses nothing (the rows carry a publish deadline that the sweeper
/// honours), and a crash mid-listing leaves a checkpoint from which <see cref="SubmissionResumer"/> (any replica) goes on;
/// no row is written twice (the checkpoint and its rows commit together).
/// </summary>
public sealed class BatchSubmitter(
    BatchRepository repository, SourceReader reader, IBus bus, OrchestratorInstance instance, IOptions<OrchestratorOptions> options, ILogger<BatchSubmitter> logger)
{
    public async Task<SubmitBatchResult> SubmitAsync(ValidatedBatch batch, CancellationToken ct)
    {
        if (batch.IsManifest) await reader.ValidateManifestAsync(batch.Location, ct);
        var batchId = NewId.NextGuid();
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["BatchId"] = batchId });
        await repository.CreateAsync(batchId, batch, batch.MaxAttempts ?? options.Value.MaxAttempts, instance.Id, options.Value.SubmitLeaseSeconds, ct);
        return await RunAsync(new StalledSubmission(batchId, batch, null, 0, false), fresh: true, ct);
    }

    /// <summary>Finishes a submission another instance (or this one, before a restart) left half done.</summary>
    public async Task<SubmitBatchResult> ResumeAsync(StalledSubmission submission, CancellationToken ct)
    {
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["BatchId"] = submission.BatchId });
        logger.LogWarning("Batch {BatchId}: resuming its submission after {Seq} job(s), cursor {Cursor}", submission.BatchId, submission.Seq, submission.Cursor);
        return await RunAsync(submission, fresh: false, ct);
    }

    private async Task<SubmitBatchResult> RunAsync(StalledSubmission s, bool fresh, CancellationToken ct)
    {
        var batchId = s.BatchId;
        var o = options.Value;
        using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewal = RenewLeaseAsync(batchId, leaseLost);
        var seq = s.Seq;
        var outcome = s.Cancelled ? PageCommit.Cancelled : PageCommit.Committed;
        async Task StopRenewalAsync()
        {
            await leaseLost.CancelAsync();
            await renewal;
        }
        try
        {
            var page = new List<SourceEntry>(o.PageSize);
            if (outcome == PageCommit.Committed)
            {
                await foreach (var entry in reader.ReadAsync(s.Batch, s.Cursor, leaseLost.Token))
                {
                    page.Add(entry);
                    if (page.Count < o.PageSize) continue;
                    if ((outcome = await SubmitPageAsync(batchId, s.Batch, page, seq, leaseLost.Token)) != PageCommit.Committed) break;
                    seq += page.Count;
                    page.Clear();
                }
                if (outcome == PageCommit.Committed && page.Count > 0 && (outcome = await SubmitPageAsync(batchId, s.Batch, page, seq, leaseLost.Token)) == PageCommit.Committed)
                    seq += page.Count;
            }
        }
        catch (OperationCanceledException) when (leaseLost.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            outcome = PageCommit.LeaseLost; // the renewal found another owner
        }
        catch (Exception) when (fresh && seq == 0)
        {
            // e.g. the bucket does not exist: leave no empty batch behind
            await StopRenewalAsync();
            await repository.DeleteEmptyAsync(batchId, CancellationToken.None);
            throw;
        }
        catch (Exception ex)
        {
            await StopRenewalAsync();
            logger.LogWarning(ex, "Batch {BatchId}: submission stopped after {Seq} job(s); a resumer goes on from its checkpoint", batchId, seq);
            try { await repository.ReleaseSubmitLeaseAsync(batchId, instance.Id, CancellationToken.None); }
            catch (Exception release) { logger.LogWarning(release, "Batch {BatchId}: could not release the submission lease; it expires by itself", batchId); }
            throw;
        }
        await StopRenewalAsync();

        if (outcome == PageCommit.LeaseLost)
        {
            logger.LogWarning("Batch {BatchId}: another instance took over the submission after {Seq} job(s)", batchId, seq);
            return new SubmitBatchResult(batchId, seq, 0);
        }
        var totals = await repository.FinishSubmissionAsync(batchId, instance.Id, ct);
        if (totals is not { } t)
        {
            logger.LogWarning("Batch {BatchId}: another instance took over the submission before it finished", batchId);
            return new SubmitBatchResult(batchId, seq, 0);
        }
        if (t.Total == 0)
        {
            await repository.DeleteEmptyAsync(batchId, ct);
            return new SubmitBatchResult(null, 0, 0);
        }
        logger.LogInformation("Batch {BatchId}: {Total} job(s), {Skipped} skipped as already annotated", batchId, t.Total, t.Skipped);
        return new SubmitBatchResult(batchId, t.Total, t.Skipped);
    }

    /// <summary>Renews the submission lease every third of it until cancelled; cancels <paramref name="cts"/> when the lease is gone.</summary>
    private async Task RenewLeaseAsync(Guid batchId, CancellationTokenSource cts)
    {
        var lease = options.Value.SubmitLeaseSeconds;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.2, lease / 3.0)));
        try
        {
            while (await timer.WaitForNextTickAsync(cts.Token))
            {
                try
                {
                    if (await repository.RenewSubmitLeaseAsync(batchId, instance.Id, lease, cts.Token)) continue;
                    logger.LogWarning("Batch {BatchId}: submission lease lost; stopping this submitter", batchId);
                    await cts.CancelAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Batch {BatchId}: submission lease renewal failed", batchId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<PageCommit> SubmitPageAsync(Guid batchId, ValidatedBatch batch, List<SourceEntry> page, int seqBase, CancellationToken ct)
    {
        var hashes = page.Select(e => OptionsHash.Compute(batch.Task, batch.Question, e.Item.Prompt, batch.OutputType, batch.Sampling, e.Item.Manifest?.Region)).ToArray();
        var known = page.Select((e, i) => (item: e.Item, i)).Where(p => p.item.ETag is not null && p.item.Size is not null).ToList();
        var reusable = await repository.FindReusableAsync(
            known.Select(p => p.item.ETag!).ToArray(), known.Select(p => p.item.Size!.Value).ToArray(), known.Select(p => hashes[p.i]).ToArray(), ct);

        var publishDeadline = DateTime.UtcNow.AddSeconds(options.Value.PublishGraceSeconds);
        var rows = page.Select((e, i) =>
        {
            var item = e.Item;
            Guid? reused = item.ETag is not null && item.Size is not null && reusable.TryGetValue((item.ETag, item.Size.Value, hashes[i]), out var r) ? r : null;
            if (item.Manifest?.Error is not null) return new JobRow(NewId.NextGuid(), seqBase + i + 1, PipelineState.Job.Failed, item, hashes[i], null, null); // a malformed row fails alone
            return new JobRow(NewId.NextGuid(), seqBase + i + 1, reused is null ? PipelineState.Job.Pending : PipelineState.Job.Skipped, item, hashes[i], reused is null ? publishDeadline : null, reused);
        }).ToList();
        var toRun = rows.Where(r => r.State == PipelineState.Job.Pending).ToList();
        var commit = await repository.CommitPageAsync(batchId, instance.Id, seqBase, page[^1].Cursor, rows, rows.Count(r => r.State == PipelineState.Job.Skipped), options.Value.SubmitLeaseSeconds, ct);
        if (commit != PageCommit.Committed) return commit;

        // the message id is the job id: a page published again by the sweeper after a crash carries the same keys, and the
        // worker's claim (keyed by job id) runs each job once however many copies arrive
        await Task.WhenAll(toRun.Select(r => bus.Publish(ProcessAudioFactory.Create(batchId, batch, r), c =>
        {
            c.SetPriority(batch.Priority);
            c.MessageId = r.JobId;
        }, ct)));
        await repository.MarkQueuedAsync(toRun.Select(r => r.JobId).ToArray(), ct);
        return PageCommit.Committed;
    }
}

public sealed record SubmitBatchResult(Guid? BatchId, int TotalJobs, int SkippedJobs);
