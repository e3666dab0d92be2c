using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>
/// One segment of a result: the span of the input it covers, in seconds from the start (exact: sample / 16000), and its text.
/// </summary>
public sealed record ResultSegment
{
    public int Index { get; init; }
    public double Start { get; init; }
    public double End { get; init; }
    public string Text { get; init; } = "";
}

/// <summary>
/// The segments of a result, read from job_segments (the worker's checkpoints, in 16 kHz samples) as a JSON array of
/// <see cref="ResultSegment"/>: one SQL column for every query that reads results (alias r for results).
/// </summary>
public static class ResultSegments
{
    /// <summary>
    /// The JSON array column segments_json. Only the segments the result was assembled from count: the worker records
    /// their number in results.timings.segments (a checkpoint left over from an older, longer plan has a higher index).
    /// </summary>
    public const string Column = """
        (SELECT json_agg(json_build_object('index', s.segment_index, 'start', (s.start_sample / 16000.0)::float8,
                                           'end', (s.end_sample / 16000.0)::float8, 'text', btrim(s.text)) ORDER BY s.segment_index)
           FROM job_segments s
          WHERE s.job_id = r.job_id AND s.segment_index < coalesce((r.timings->>'segments')::numeric, 0))::text AS segments_json
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.Strict };

    /// <summary>The segments in order; none for a null column (no result).</summary>
    public static IReadOnlyList<ResultSegment> Parse(string? segmentsJson)
        => segmentsJson is null ? [] : JsonSerializer.Deserialize<List<ResultSegment>>(segmentsJson, Json) ?? [];
}
