using Amazon.S3;
using KimiAudio.Infrastructure.Storage;

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
}
