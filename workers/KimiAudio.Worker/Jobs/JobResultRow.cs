using KimiAudio.Contracts;

namespace KimiAudio.Worker.Jobs;

/// <summary>The results row of a job.</summary>
public sealed record JobResultRow
{
    public required Guid JobId { get; init; }
    public required Guid BatchId { get; init; }
    public required string Task { get; init; }
    public required string InputBucket { get; init; }
    public required string InputKey { get; init; }
    public string? InputETag { get; init; }
    public long? InputSize { get; init; }
    public required string OptionsHash { get; init; }
    public required string Text { get; init; }
    public required int[] TextTokens { get; init; }
    public required int[] AudioTokens { get; init; }
    public string? ArtifactBucket { get; init; }
    public string? ArtifactKey { get; init; }
    public required double AudioSeconds { get; init; }
    public required string ModelId { get; init; }
    public required string TimingsJson { get; init; }
    // against the manifest's reference (null without one): see ResultScoring
    public double? Wer { get; init; }
    public double? Cer { get; init; }
    public int? ReferenceWords { get; init; }
    public int? WordSubstitutions { get; init; }
    public int? WordDeletions { get; init; }
    public int? WordInsertions { get; init; }
    public int? ReferenceChars { get; init; }
    public int? CharErrors { get; init; }

    /// <summary>THE place a job's result row is built: its message, its segments in order, and where its speech went.</summary>
    public static JobResultRow From(
        ProcessAudio m, IReadOnlyList<SegmentCheckpoint> segments, string? artifactKey, double audioSeconds, string modelId, string timingsJson) => new()
    {
        JobId = m.JobId,
        BatchId = m.BatchId,
        Task = m.Task,
        InputBucket = m.Input.Bucket,
        InputKey = m.Input.Key,
        InputETag = m.Input.ETag,
        InputSize = m.Input.Size,
        OptionsHash = m.OptionsHash,
        Text = string.Join(" ", segments.Select(s => s.Text.Trim()).Where(t => t.Length > 0)),
        TextTokens = segments.SelectMany(s => s.TextTokens).ToArray(),
        AudioTokens = segments.SelectMany(s => s.AudioTokens).ToArray(),
        ArtifactBucket = artifactKey is null ? null : m.Input.Bucket,
        ArtifactKey = artifactKey,
        AudioSeconds = audioSeconds,
        ModelId = modelId,
        TimingsJson = timingsJson,
    };
}
