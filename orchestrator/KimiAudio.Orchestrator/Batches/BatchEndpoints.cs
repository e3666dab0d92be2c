using Amazon.S3;
using KimiAudio.Contracts;
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
        batches.MapPost("/", SubmitAsync)
            .WithSummary("Submit a batch: one job per object under 'source' or per line of 'manifest'")
            .Produces<SubmitBatchResponse>(StatusCodes.Status201Created).ProducesValidationProblem();
        batches.MapGet("/{batchId:guid}", GetAsync)
            .WithSummary("The batch's counts by state, audio done, throughput and ETA")
            .Produces<BatchProgress>().Produces(StatusCodes.Status404NotFound);
        batches.MapPost("/{batchId:guid}/cancel", CancelAsync)
            .WithSummary("Cancel the batch's open jobs")
            .Produces<CancelBatchResponse>().Produces(StatusCodes.Status404NotFound);
        batches.MapGet("/{batchId:guid}/jobs", ListJobsAsync)
            .WithSummary("The batch's jobs in seq order; filter state; paged by 'after' (the last seq)")
            .WithQueryParameters(JobStateDoc, SeqAfterDoc, SeqLimitDoc)
            .Produces<SeqPage<JobView>>().ProducesValidationProblem();
        batches.MapGet("/{batchId:guid}/results", ListResultsAsync)
            .WithSummary("The batch's results in seq order; paged by 'after' (the last seq)")
            .WithQueryParameters(SeqAfterDoc, SeqLimitDoc)
            .Produces<SeqPage<ResultView>>();
        batches.MapGet("/", ListAsync).WithSummary("Batches newest first with their job counts; filter state; keyset paged by 'after'")
            .WithQueryParameters(QueryParameterDoc.OneOf("state", "Only batches in this state", PipelineState.Batch.All), QueryParameters.CursorDoc(), QueryParameters.LimitDoc())
            .Produces<CursorPage<BatchSummary>>().ProducesValidationProblem();
        batches.MapPost("/{batchId:guid}/retry-failed", RetryFailedAsync)
            .WithSummary("Queue the batch's failed jobs (only those) again; 409 for a cancelled batch")
            .Produces<RetryFailedResponse>().Produces(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        batches.MapGet("/{batchId:guid}/export", ExportAsync)
            .WithSummary("One row per file of the batch, streamed as format=jsonl|csv|parquet")
            .WithQueryParameters(ExportResponse.FormatDoc)
            .Produces(StatusCodes.Status200OK, typeof(Stream), ExportResponse.ContentTypes[0], ExportResponse.ContentTypes[1..])
            .ProducesValidationProblem().Produces(StatusCodes.Status404NotFound);
        return app;
    }

    private static readonly QueryParameterDoc JobStateDoc = QueryParameterDoc.OneOf("state", "Only jobs in this state", PipelineState.Job.All);
    private static readonly QueryParameterDoc SeqAfterDoc = QueryParameterDoc.Integer("after", "Jobs after this seq: the 'next' value of the previous page", 0, int.MaxValue, 0);
    private static readonly QueryParameterDoc SeqLimitDoc = QueryParameters.LimitDoc();

    private static async Task<IResult> SubmitAsync(SubmitBatchRequest request, BatchSubmitter submitter, CancellationToken ct)
    {
        var batch = SubmitBatchValidator.Validate(request, out var errors);
        if (batch is null) return Results.ValidationProblem(errors);
        var field = batch.IsManifest ? "manifest" : "source";
        try
        {
            var result = await submitter.SubmitAsync(batch, ct);
            return result.BatchId is { } id
                ? Results.Created($"/batches/{id}", new SubmitBatchResponse(id, result.TotalJobs, result.SkippedJobs))
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
        => await repository.CancelAsync(batchId, ct) is { } cancelled ? Results.Ok(new CancelBatchResponse(batchId, cancelled)) : Results.NotFound();

    private static async Task<IResult> ListJobsAsync(Guid batchId, HttpRequest request, BatchRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var state = p.OneOf("state", PipelineState.Job.All);
        var after = p.Integer("after", 0, int.MaxValue, 0);
        var limit = p.Limit();
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        var items = await repository.ListJobsAsync(batchId, state, after, limit, ct);
        return Results.Ok(new SeqPage<JobView>(items, items.Count > 0 ? items[^1].Seq : null));
    }

    private static async Task<IResult> ListResultsAsync(Guid batchId, HttpRequest request, BatchRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var after = p.Integer("after", 0, int.MaxValue, 0);
        var limit = p.Limit();
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        var items = await repository.ListResultsAsync(batchId, after, limit, ct);
        return Results.Ok(new SeqPage<ResultView>(items, items.Count > 0 ? items[^1].Seq : null));
    }

    private static async Task<IResult> ListAsync(HttpRequest request, BatchRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var state = p.OneOf("state", PipelineState.Batch.All);
        var after = p.Cursor();
        var limit = p.Limit();
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        var items = await repository.ListAsync(state, after, limit, ct);
        return Results.Ok(new CursorPage<BatchSummary>(items, items.Count == limit ? new PageCursor(items[^1].CreatedAt, items[^1].BatchId).ToString() : null));
    }

    private static async Task<IResult> RetryFailedAsync(Guid batchId, FailedJobRetrier retrier, CancellationToken ct)
    {
        var result = await retrier.RetryAsync(batchId, ct);
        if (!result.Found) return Results.NotFound();
        if (result.Cancelled)
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Batch is cancelled",
                detail: $"batch {batchId} is cancelled: its failed jobs are not retried (submit the source again instead)");
        return Results.Ok(new RetryFailedResponse(batchId, result.Requeued));
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
