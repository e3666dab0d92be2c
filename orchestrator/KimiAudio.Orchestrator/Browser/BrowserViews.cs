using KimiAudio.Orchestrator.Batches;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>A row of the batch page's job table: the job (as the API lists it) and the start of its result text.</summary>
public sealed record JobListItem(JobView Job, ResultSnippet Result);

/// <summary>The first <see cref="BrowserRepository.ListTextChars"/> characters of a job's result text (null: no result yet).</summary>
public sealed record ResultSnippet
{
    public string? Text { get; init; }
    public bool HasSpeech { get; init; }
    /// <summary>WER against the manifest's reference (null: not scored).</summary>
    public double? Wer { get; init; }
}

/// <summary>Everything the job page shows: the job, its batch's options and its result (own or reused), if any.</summary>
public sealed record JobDetail
{
    public Guid JobId { get; init; }
    public Guid BatchId { get; init; }
    public int Seq { get; init; }
    public string State { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public string InputBucket { get; init; } = "";
    public string InputKey { get; init; } = "";
    public long? InputSize { get; init; }
    public string? Prompt { get; init; }
    public double? AudioSeconds { get; init; }
    public Guid? ReusedJobId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public string Task { get; init; } = "";
    public string OutputType { get; init; } = "";
    public string? Text { get; init; }
    public string? ArtifactBucket { get; init; }
    public string? ArtifactKey { get; init; }
    public string? ModelId { get; init; }
    public string? ReferenceText { get; init; }
    public double? Wer { get; init; }
    public double? Cer { get; init; }
    /// <summary>The manifest row's other columns (JSON object text), if any.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>The result's segments as JSON (<see cref="ResultSegments.Column"/>).</summary>
    public string? SegmentsJson { get; init; }

    public IReadOnlyList<ResultSegment> Segments => ResultSegments.Parse(SegmentsJson);

    /// <summary>The object behind an audio kind of this job ("input" or "speech"), or null when it has none.</summary>
    public (string Bucket, string Key)? Audio(string kind) => kind switch
    {
        BrowserEndpoints.InputAudio => (InputBucket, InputKey),
        BrowserEndpoints.SpeechAudio when ArtifactBucket is { } bucket && ArtifactKey is { } key => (bucket, key),
        _ => null,
    };
}
