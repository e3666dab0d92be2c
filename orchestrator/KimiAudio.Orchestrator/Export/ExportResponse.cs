using KimiAudio.Orchestrator.Jobs;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Export;

/// <summary>Streams the rows of a filter into the response in the requested format (rows go out as they are read).</summary>
public static class ExportResponse
{
    private const string DefaultFormat = "jsonl";

    /// <summary>The 'format' parameter: jsonl (default) | csv | parquet.</summary>
    public static string ReadFormat(QueryParameters p) => p.OneOf("format", ExportFormat.Names) ?? DefaultFormat;

    public static readonly QueryParameterDoc FormatDoc = QueryParameterDoc.OneOf("format", "File format of the export", ExportFormat.Names, DefaultFormat);

    /// <summary>The response content types, one per format (for the OpenAPI document).</summary>
    public static string[] ContentTypes => [.. ExportFormat.Names.Select(n => ExportFormat.Create(n, 1).ContentType)];

    public static async Task<IResult> WriteAsync(HttpContext context, ResultRepository repository, ResultFilter filter, string format, string fileStem)
    {
        var rowGroupSize = context.RequestServices.GetRequiredService<IOptions<OrchestratorOptions>>().Value.ExportRowGroupSize;
        var writer = ExportFormat.Create(format, rowGroupSize);
        context.Response.ContentType = writer.ContentType;
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileStem}.{writer.Extension}\"";
        await writer.WriteAsync(repository.StreamAsync(filter, context.RequestAborted), context.Response.Body, context.RequestAborted);
        return Results.Empty;
    }
}
