using Amazon.S3;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Export;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>HTTP API of batches.</summary>
public static class BatchEndpoints
{
    public static IEndpointRouteBuilder MapBatchEndpoints(this IEndpointRouteBuilder app)
    {
        var batches = app.MapGroup("/batches");
        batches.MapPost("/", SubmitAsync);
        batches.MapGet("/{batchId:guid}", GetAsync);
        batches.MapPost("/{batchId:guid}/cancel", CancelAsync);
        batches.MapGet("/{batchId:guid}/jobs", ListJobsAsync);
        batches.MapGet("/{batchId:guid}/results", ListResultsAsync);
        batches.MapGet("/", ListAsync).WithSummary("Batches newest first with their job counts; filter state; keyset paged by 'after'");
        batches.MapPost("/{batchId:guid}/retry-failed", RetryFailedAsync)
            .WithSummary("Queue the batch's failed jobs (only those) again; 409 for a cancelled batch");
        batches.MapGet("/{batchId:guid}/export", ExportAsync)
            .WithSummary("One row per file of the batch, streamed as format=jsonl|csv|parquet");
        return app;
    }

    private static async Task<IResult> SubmitAsync(SubmitBatchRequest request, BatchSubmitter submitter, CancellationToken ct)
    {
        var batch = SubmitBatchValidator.Validate(request, out var errors);
        if (batch is null) return Results.ValidationProblem(errors);
        var field = batch.IsManifest ? "manifest" : "source";
        try
        {
            var result = await submitter.SubmitAsync(batch, ct);
            return result.BatchId is { } id
                ? Results.Created($"/batches/{id}", new { batchId = id, totalJobs = result.TotalJobs, skippedJobs = result.SkippedJobs })
                : Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [$"no objects found under {batch.Location}"] });
        }
        catch (ManifestFormatException ex)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["manifest"] = [ex.Message] });
        }
        catch (ObjectNotFoundException ex)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [ex.Message] });
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "NoSuchBucket" || ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [$"bucket '{batch.Location.Bucket}' does not exist"] });
        }
    }

    private static async Task<IResult> GetAsync(Guid batchId, BatchRepository repository, CancellationToken ct)
        => await repository.GetProgressAsync(batchId, ct) is { } progress ? Results.Ok(progress) : Results.NotFound();

    private static async Task<IResult> CancelAsync(Guid batchId, BatchRepository repository, CancellationToken ct)
        => await repository.CancelAsync(batchId, ct) is { } cancelled ? Results.Ok(new { batchId, cancelledJobs = cancelled }) : Results.NotFound();

    private static async Task<IResult> ListJobsAsync(Guid batchId, BatchRepository repository, string? state, int? after, int? limit, CancellationToken ct)
    {
        if (state is not null && !BatchProgress.States.Contains(state))
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["state"] = [$"must be one of {string.Join(", ", BatchProgress.States)}"] });
        var items = await repository.ListJobsAsync(batchId, state, after ?? 0, Math.Clamp(limit ?? 100, 1, 1000), ct);
        return Results.Ok(new { items, next = items.Count > 0 ? items[^1].Seq : (int?)null });
    }

    private static async Task<IResult> ListResultsAsync(Guid batchId, BatchRepository repository, int? after, int? limit, CancellationToken ct)
    {
        var items = await repository.ListResultsAsync(batchId, after ?? 0, Math.Clamp(limit ?? 100, 1, 1000), ct);
        return Results.Ok(new { items, next = items.Count > 0 ? items[^1].Seq : (int?)null });
    }

    private static async Task<IResult> ListAsync(HttpRequest request, BatchRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var state = p.OneOf("state", BatchSummary.States);
        var after = p.Cursor();
        var limit = p.Limit();
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        var items = await repository.ListAsync(state, after, limit, ct);
        return Results.Ok(new { items, next = items.Count == limit ? new PageCursor(items[^1].CreatedAt, items[^1].BatchId).ToString() : null });
    }

    private static async Task<IResult> RetryFailedAsync(Guid batchId, FailedJobRetrier retrier, CancellationToken ct)
    {
        var result = await retrier.RetryAsync(batchId, ct);
        if (!result.Found) return Results.NotFound();
        if (result.Cancelled)
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Batch is cancelled",
                detail: $"batch {batchId} is cancelled: its failed jobs are not retried (submit the source again instead)");
        return Results.Ok(new { batchId, requeuedJobs = result.Requeued });
    }

    private static async Task<IResult> ExportAsync(Guid batchId, HttpContext context, BatchRepository repository, ResultRepository results)
    {
        var p = new QueryParameters(context.Request.Query);
        var format = ExportResponse.ReadFormat(p);
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        if (await repository.GetStateAsync(batchId, context.RequestAborted) is null) return Results.NotFound();
        return await ExportResponse.WriteAsync(context, results, new ResultFilter(batchId, null, null, null), format, $"batch-{batchId}");
    }
}
