using KimiAudio.Contracts;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>GET /batches/{id}/jobs item.</summary>
public sealed record JobView
{
    public Guid JobId { get; init; }
    public int Seq { get; init; }
    public string InputKey { get; init; } = "";
    public string State { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public double? AudioSeconds { get; init; }
    public Guid? ReusedJobId { get; init; }
}

/// <summary>GET /batches/{id}/results item.</summary>
public sealed record ResultView
{
    public Guid JobId { get; init; }
    public int Seq { get; init; }
    public string InputKey { get; init; } = "";
    public string State { get; init; } = "";
    public string Text { get; init; } = "";
    public string? ArtifactBucket { get; init; }
    public string? ArtifactKey { get; init; }
    public string ModelId { get; init; } = "";
    public double AudioSeconds { get; init; }
    public Guid? ReusedJobId { get; init; }
    public int[] TextTokens { get; init; } = [];
    public int[] AudioTokens { get; init; } = [];
    public string TimingsJson { get; init; } = "{}";
}

/// <summary>GET /batches/{id}: counts by state, audio done, throughput and ETA.</summary>
public sealed record BatchProgress
{
    public Guid BatchId { get; init; }
    public string Source { get; init; } = "";
    public string Task { get; init; } = "";
    public string OutputType { get; init; } = "";
    public short Priority { get; init; }
    public string State { get; init; } = "";
    public int TotalJobs { get; init; }
    public int SkippedJobs { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? SubmittedAt { get; init; }
    public DateTime? CompletedAt { get; init; }
    public double ElapsedSeconds { get; init; }
    public Dictionary<string, int> Counts { get; init; } = [];
    public double AudioSecondsDone { get; init; }
    public int Finished { get; init; }
    public double JobsPerSecond { get; init; }
    public double AudioSecondsPerSecond { get; init; }
    public double? EtaSeconds { get; init; }
    /// <summary>Corpus scores of the batch's results that have a reference; null when none has.</summary>
    public BatchQuality? Quality { get; init; }

    public BatchProgress WithCounts(IReadOnlyList<(string State, int Jobs, double AudioSeconds)> rows)
    {
        var counts = PipelineState.Job.All.ToDictionary(s => s, s => rows.Where(r => r.State == s).Sum(r => r.Jobs));
        var finished = PipelineState.Job.Terminal.Sum(s => counts[s]);
        var processed = counts[PipelineState.Job.Succeeded] + counts[PipelineState.Job.Failed];
        var audioDone = rows.Where(r => r.State == PipelineState.Job.Succeeded).Sum(r => r.AudioSeconds);
        var elapsed = Math.Max(ElapsedSeconds, 1e-3);
        var rate = processed / elapsed;
        var remaining = PipelineState.Job.Open.Sum(s => counts[s]);
        return this with
        {
            Counts = counts,
            Finished = finished,
            AudioSecondsDone = audioDone,
            JobsPerSecond = rate,
            AudioSecondsPerSecond = audioDone / elapsed,
            EtaSeconds = remaining == 0 ? 0 : rate > 0 ? remaining / rate : null,
        };
    }
}

/// <summary>GET /batches item: the batch and its job counts.</summary>
public sealed record BatchSummary
{
    public Guid BatchId { get; init; }
    public string Source { get; init; } = "";
    public string Task { get; init; } = "";
    public string OutputType { get; init; } = "";
    public short Priority { get; init; }
    public string State { get; init; } = "";
    public int TotalJobs { get; init; }
    public int SkippedJobs { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? SubmittedAt { get; init; }
    public DateTime? CompletedAt { get; init; }
    public int Succeeded { get; init; }
    public int Failed { get; init; }
    public int Cancelled { get; init; }
    /// <summary>Jobs pending, queued or running.</summary>
    public int Open { get; init; }
}

/// <summary>POST /batches answer (201).</summary>
public sealed record SubmitBatchResponse(Guid BatchId, int TotalJobs, int SkippedJobs);

/// <summary>POST /batches/{id}/cancel answer.</summary>
public sealed record CancelBatchResponse(Guid BatchId, int CancelledJobs);

/// <summary>POST /batches/{id}/retry-failed answer.</summary>
public sealed record RetryFailedResponse(Guid BatchId, int RequeuedJobs);

/// <summary>
/// A batch scored as a corpus against its references: WER = (S + D + I) / reference words over all scored results
/// (not the mean of their rates), CER likewise over characters.
/// </summary>
public sealed record BatchQuality
{
    public int ScoredResults { get; init; }
    public double Wer { get; init; }
    public double Cer { get; init; }
    public long ReferenceWords { get; init; }
    public long Substitutions { get; init; }
    public long Deletions { get; init; }
    public long Insertions { get; init; }
    public long ReferenceChars { get; init; }
    public long CharErrors { get; init; }
    /// <summary>The worst result's WER.</summary>
    public double MaxWer { get; init; }
}
