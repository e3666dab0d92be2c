using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>
/// One file of a batch with its result when it has one (a skipped job shows the earlier result it reuses).
/// GET /results items and GET /jobs/{id}; the token arrays are filled only by GET /jobs/{id}.
/// </summary>
public sealed record JobResultView
{
    public Guid JobId { get; init; }
    public Guid BatchId { get; init; }
    public int Seq { get; init; }
    public string Input { get; init; } = "";
    public string Task { get; init; } = "";
    public string State { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public double? AudioSeconds { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public Guid? ReusedJobId { get; init; }
    public ResultPart? Result { get; init; }
    /// <summary>The manifest row's other columns, verbatim (null for a prefix batch or a row without any).</summary>
    public JsonElement? Metadata { get; init; }
    /// <summary>The manifest's region of a longer file (offset + duration), when the row gave one.</summary>
    public double? OffsetSeconds { get; init; }
    public double? DurationSeconds { get; init; }
    public string? Language { get; init; }
    [JsonIgnore] public DateTime BatchCreatedAt { get; init; }

    [JsonIgnore] public PageCursor Cursor => new(BatchCreatedAt, BatchId, Seq);
}

public sealed record ResultPart
{
    public string Text { get; init; } = "";
    public int TextTokenCount { get; init; }
    public int AudioTokenCount { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int[]? TextTokens { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int[]? AudioTokens { get; init; }
    /// <summary>s3://bucket/key of the generated speech (24 kHz WAV), when the task produced speech.</summary>
    public string? Artifact { get; init; }
    public string ModelId { get; init; } = "";
    /// <summary>The pieces the input was cut into (at pauses, at most 30 s each), with their times and text, in order.</summary>
    public IReadOnlyList<ResultSegment> Segments { get; init; } = [];
    public JsonElement Timings { get; init; }
    public DateTime CreatedAt { get; init; }
    /// <summary>The scores against the manifest's reference transcript; null without a reference.</summary>
    public ResultQuality? Quality { get; init; }
}

/// <summary>WER/CER of one result after normalisation (KimiAudio.Evaluation), with the word edits behind the WER.</summary>
public sealed record ResultQuality
{
    public string Reference { get; init; } = "";
    public double Wer { get; init; }
    public double Cer { get; init; }
    public int ReferenceWords { get; init; }
    public int Substitutions { get; init; }
    public int Deletions { get; init; }
    public int Insertions { get; init; }
    public int ReferenceChars { get; init; }
    public int CharErrors { get; init; }
}

/// <summary>The flat row Dapper reads for both views (and the export).</summary>
public sealed record JobResultRow
{
    public Guid JobId { get; init; }
    public Guid BatchId { get; init; }
    public int Seq { get; init; }
    public string InputBucket { get; init; } = "";
    public string InputKey { get; init; } = "";
    public string Task { get; init; } = "";
    public string State { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public double? AudioSeconds { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public Guid? ReusedJobId { get; init; }
    public DateTime BatchCreatedAt { get; init; }
    public bool HasResult { get; init; }
    public string? Text { get; init; }
    public int? TextTokenCount { get; init; }
    public int? AudioTokenCount { get; init; }
    public int[]? TextTokens { get; init; }
    public int[]? AudioTokens { get; init; }
    public string? ArtifactBucket { get; init; }
    public string? ArtifactKey { get; init; }
    public string? ModelId { get; init; }
    public string? TimingsJson { get; init; }
    /// <summary>The result's segments as a JSON array (<see cref="ResultSegments.Column"/>), null without a result.</summary>
    public string? SegmentsJson { get; init; }
    public DateTime? ResultCreatedAt { get; init; }
    public string? MetadataJson { get; init; }
    public double? OffsetSeconds { get; init; }
    public double? DurationSeconds { get; init; }
    public string? Language { get; init; }
    public string? ReferenceText { get; init; }
    public double? Wer { get; init; }
    public double? Cer { get; init; }
    public int? ReferenceWords { get; init; }
    public int? WordSubstitutions { get; init; }
    public int? WordDeletions { get; init; }
    public int? WordInsertions { get; init; }
    public int? ReferenceChars { get; init; }
    public int? CharErrors { get; init; }

    public ResultQuality? Quality => Wer is not { } wer ? null : new ResultQuality
    {
        Reference = ReferenceText ?? "", Wer = wer, Cer = Cer ?? 0, ReferenceWords = ReferenceWords ?? 0, Substitutions = WordSubstitutions ?? 0,
        Deletions = WordDeletions ?? 0, Insertions = WordInsertions ?? 0, ReferenceChars = ReferenceChars ?? 0, CharErrors = CharErrors ?? 0,
    };

    public string Input => $"s3://{InputBucket}/{InputKey}";
    public string? Artifact => ArtifactKey is null ? null : $"s3://{ArtifactBucket}/{ArtifactKey}";

    public JobResultView ToView() => new()
    {
        JobId = JobId, BatchId = BatchId, Seq = Seq, Input = Input, Task = Task, State = State, Attempts = Attempts, Error = Error,
        AudioSeconds = AudioSeconds, StartedAt = StartedAt, FinishedAt = FinishedAt, ReusedJobId = ReusedJobId, BatchCreatedAt = BatchCreatedAt,
        Metadata = MetadataJson is null ? null : JsonDocument.Parse(MetadataJson).RootElement.Clone(), OffsetSeconds = OffsetSeconds,
        DurationSeconds = DurationSeconds, Language = Language,
        Result = !HasResult ? null : new ResultPart
        {
            Text = Text ?? "", TextTokenCount = TextTokenCount ?? 0, AudioTokenCount = AudioTokenCount ?? 0, TextTokens = TextTokens, AudioTokens = AudioTokens,
            Artifact = Artifact, ModelId = ModelId ?? "", Segments = ResultSegments.Parse(SegmentsJson), Timings = JsonDocument.Parse(TimingsJson ?? "{}").RootElement.Clone(), CreatedAt = ResultCreatedAt ?? default,
            Quality = Quality,
        },
    };
}
