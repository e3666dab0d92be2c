using System.Text.Json;
using KimiAudio.Orchestrator.Jobs;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Export;

/// <summary>Streams the rows of a filter into the response in the requested format (rows go out as they are read).</summary>
public static class ExportResponse
{
    private const string DefaultFormat = "jsonl";

    /// <summary>Response header (and Parquet footer key, lower case) with a batch export's corpus scores as JSON, when it has any.</summary>
    public const string QualityHeader = "X-Kimia-Quality";

    /// <summary>The 'format' parameter: jsonl (default) | csv | parquet | nemo | hf | lhotse.</summary>
    public static string ReadFormat(QueryParameters p) => p.OneOf("format", ExportFormat.Names) ?? DefaultFormat;

    public static readonly QueryParameterDoc FormatDoc = QueryParameterDoc.OneOf("format", "File format of the export", ExportFormat.Names, DefaultFormat);

    /// <summary>The response content types, one per format (for the OpenAPI document).</summary>
    public static string[] ContentTypes => [.. ExportFormat.Names.Select(ExportFormat.ContentTypeOf).Distinct()];

    public static async Task<IResult> WriteAsync(HttpContext context, ResultRepository repository, ResultFilter filter, string format, string fileStem)
    {
        var ct = context.RequestAborted;
        var rowGroupSize = context.RequestServices.GetRequiredService<IOptions<OrchestratorOptions>>().Value.ExportRowGroupSize;
        // a batch's corpus scores go with its export: a response header, and the footer of the datasets Parquet
        var quality = filter.BatchId is { } batchId ? await repository.BatchQualityAsync(batchId, ct) : null;
        var qualityJson = quality is null ? null : JsonSerializer.Serialize(quality, JsonSerializerOptions.Web);
        if (qualityJson is not null) context.Response.Headers[QualityHeader] = qualityJson;
        if (format == LhotseSupervisionsWriter.Format)
        {
            context.Response.ContentType = LhotseSupervisionsWriter.ContentType;
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileStem}.{LhotseSupervisionsWriter.Extension}\"";
            await LhotseSupervisionsWriter.WriteAsync(repository.StreamSegmentsAsync(filter, ct), context.Response.Body, ct);
            return Results.Empty;
        }
        var writer = format == HuggingFaceParquetWriter.Format
            ? new HuggingFaceParquetWriter(rowGroupSize, await repository.MetadataColumnsAsync(filter, ct),
                qualityJson is null ? null : new Dictionary<string, string> { [QualityHeader.ToLowerInvariant()] = qualityJson })
            : ExportFormat.Create(format, rowGroupSize);
        context.Response.ContentType = writer.ContentType;
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileStem}.{writer.Extension}\"";
        await writer.WriteAsync(repository.StreamAsync(filter, ct), context.Response.Body, ct);
        return Results.Empty;
    }
}
