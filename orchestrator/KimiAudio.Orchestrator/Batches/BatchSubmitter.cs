using KimiAudio.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Turns a validated request into a batch: streams the source page by page; per page finds content already annotated
/// with the same options (those jobs are 'skipped' and point at the earlier result), writes the job rows with one COPY,
/// publishes one <see cref="ProcessAudio"/> per remaining job (in parallel, with the batch priority), then marks them queued.
/// A crash between COPY and publish loses nothing: the rows carry a publish deadline that the sweeper honours.
/// </summary>
public sealed class BatchSubmitter(BatchRepository repository, SourceReader reader, IBus bus, IOptions<OrchestratorOptions> options, ILogger<BatchSubmitter> logger)
{
    public async Task<SubmitBatchResult> SubmitAsync(ValidatedBatch batch, CancellationToken ct)
    {
        if (batch.IsManifest) await reader.ValidateManifestAsync(batch.Location, ct);
        var batchId = NewId.NextGuid();
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["BatchId"] = batchId });
        await repository.CreateAsync(batchId, batch, batch.MaxAttempts ?? options.Value.MaxAttempts, ct);
        int total = 0, skipped = 0;
        var page = new List<SourceItem>(options.Value.PageSize);
        try
        {
            var cancelled = false;
            await foreach (var item in reader.ReadAsync(batch, ct))
            {
                page.Add(item);
                if (page.Count < options.Value.PageSize) continue;
                if (!await SubmitAndCountAsync()) { cancelled = true; break; }
            }
            if (!cancelled && page.Count > 0) await SubmitAndCountAsync();
        }
        catch (Exception) when (total == 0)
        {
            // e.g. the bucket does not exist: leave no empty batch behind
            await repository.DeleteEmptyAsync(batchId, CancellationToken.None);
            throw;
        }

        if (total == 0)
        {
            await repository.DeleteEmptyAsync(batchId, ct);
            return new SubmitBatchResult(null, 0, 0);
        }
        await repository.FinishSubmissionAsync(batchId, total, skipped, ct);
        logger.LogInformation("Batch {BatchId}: {Total} job(s), {Skipped} skipped as already annotated", batchId, total, skipped);
        return new SubmitBatchResult(batchId, total, skipped);

        async Task<bool> SubmitAndCountAsync()
        {
            var pageSkipped = await SubmitPageAsync(batchId, batch, page, total, ct);
            if (pageSkipped is null) return false;
            total += page.Count;
            skipped += pageSkipped.Value;
            page.Clear();
            return true;
        }
    }

    /// <summary>Returns how many of the page were skipped as already annotated, or null when the batch was cancelled meanwhile.</summary>
    private async Task<int?> SubmitPageAsync(Guid batchId, ValidatedBatch batch, List<SourceItem> page, int seqBase, CancellationToken ct)
    {
        if (await repository.GetStateAsync(batchId, ct) == PipelineState.Batch.Cancelled) return null;
        var hashes = page.Select(i => OptionsHash.Compute(batch.Task, batch.Question, i.Prompt, batch.OutputType, batch.Sampling)).ToArray();
        var known = page.Select((item, i) => (item, i)).Where(p => p.item.ETag is not null && p.item.Size is not null).ToList();
        var reusable = await repository.FindReusableAsync(
            known.Select(p => p.item.ETag!).ToArray(), known.Select(p => p.item.Size!.Value).ToArray(), known.Select(p => hashes[p.i]).ToArray(), ct);

        var publishDeadline = DateTime.UtcNow.AddSeconds(options.Value.PublishGraceSeconds);
        var rows = page.Select((item, i) =>
        {
            Guid? reused = item.ETag is not null && item.Size is not null && reusable.TryGetValue((item.ETag, item.Size.Value, hashes[i]), out var r) ? r : null;
            return new JobRow(NewId.NextGuid(), seqBase + i + 1, reused is null ? PipelineState.Job.Pending : PipelineState.Job.Skipped, item, hashes[i], reused is null ? publishDeadline : null, reused);
        }).ToList();
        await repository.InsertJobsAsync(batchId, rows, ct);

        var toRun = rows.Where(r => r.State == PipelineState.Job.Pending).ToList();
        await Task.WhenAll(toRun.Select(r => bus.Publish(ProcessAudioFactory.Create(batchId, batch, r), c => c.SetPriority(batch.Priority), ct)));
        await repository.MarkQueuedAsync(toRun.Select(r => r.JobId).ToArray(), ct);
        return rows.Count - toRun.Count;
    }
}

public sealed record SubmitBatchResult(Guid? BatchId, int TotalJobs, int SkippedJobs);
