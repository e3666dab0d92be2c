using KimiAudio.Orchestrator.Export;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>HTTP API of results across batches: filtered pages, their streamed export, and one job.</summary>
public static class ResultEndpoints
{
    public static IEndpointRouteBuilder MapResultEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/results", ListAsync)
            .WithSummary("Jobs with their results across batches, newest batch first; filters batchId, task, state, q (text search); keyset paged by 'after'")
            .WithQueryParameters([.. ResultFilter.Parameters, QueryParameters.CursorDoc(), QueryParameters.LimitDoc()])
            .Produces<CursorPage<JobResultView>>().ProducesValidationProblem();
        app.MapGet("/results/export", ExportAsync)
            .WithSummary("The rows of /results (same filters, no paging) streamed as format=jsonl|csv|parquet")
            .WithQueryParameters([.. ResultFilter.Parameters, ExportResponse.FormatDoc])
            .Produces(StatusCodes.Status200OK, typeof(Stream), ExportResponse.ContentTypes[0], ExportResponse.ContentTypes[1..])
            .ProducesValidationProblem();
        app.MapGet("/jobs/{jobId:guid}", GetJobAsync).WithSummary("One job with its result (token arrays included)")
            .Produces<JobResultView>().Produces(StatusCodes.Status404NotFound);
        app.MapGet("/jobs/{jobId:guid}/subtitles", GetSubtitlesAsync)
            .WithSummary("The job's result as subtitles, one cue per segment: format=srt|vtt (SubRip or WebVTT)")
            .WithQueryParameters([SubtitlesFormatDoc])
            .Produces<string>(StatusCodes.Status200OK, "application/x-subrip", "text/vtt").Produces(StatusCodes.Status404NotFound).ProducesValidationProblem();
        return app;
    }

    private static async Task<IResult> ListAsync(HttpRequest request, ResultRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var filter = ResultFilter.Read(p);
        var after = p.Cursor();
        var limit = p.Limit();
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        var items = await repository.ListAsync(filter, after, limit, ct);
        return Results.Ok(new CursorPage<JobResultView>(items, items.Count == limit ? items[^1].Cursor.ToString() : null));
    }

    private static async Task<IResult> ExportAsync(HttpContext context, ResultRepository repository)
    {
        var p = new QueryParameters(context.Request.Query);
        var filter = ResultFilter.Read(p);
        var format = ExportResponse.ReadFormat(p);
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        return await ExportResponse.WriteAsync(context, repository, filter, format, "results");
    }

    private static readonly QueryParameterDoc SubtitlesFormatDoc = QueryParameterDoc.OneOf("format", "Subtitle format", Subtitles.Formats, "srt");

    /// <summary>SRT or WebVTT of one job's segments; 404 for an unknown job or one without a result yet.</summary>
    public static async Task<IResult> GetSubtitlesAsync(Guid jobId, HttpRequest request, ResultRepository repository, CancellationToken ct)
    {
        var p = new QueryParameters(request.Query);
        var format = p.OneOf("format", Subtitles.Formats) ?? "srt";
        if (!p.IsValid) return Results.ValidationProblem(p.Errors);
        if (await repository.GetJobAsync(jobId, ct) is not { } job) return Results.NotFound();
        if (job.Result is not { } result) return Results.Problem($"job {jobId} has no result yet (state {job.State})", statusCode: StatusCodes.Status404NotFound);
        var name = Path.GetFileNameWithoutExtension(job.Input.Split('/')[^1]) is { Length: > 0 } stem ? stem : jobId.ToString();
        request.HttpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"{SafeFileName(name)}.{format}\"";
        return Results.Text(Subtitles.Write(format, result.Segments), Subtitles.ContentType(format));
    }

    private static string SafeFileName(string name) => new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);

    private static async Task<IResult> GetJobAsync(Guid jobId, ResultRepository repository, CancellationToken ct)
        => await repository.GetJobAsync(jobId, ct) is { } job ? Results.Ok(job) : Results.NotFound();
}
