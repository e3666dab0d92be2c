using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator;

/// <summary>Submission settings. Bound from section "Orchestrator".</summary>
public sealed class OrchestratorOptions
{
    public const string SectionName = "Orchestrator";

    /// <summary>Keys handled per page: one listing page, one COPY and one round of publishes.</summary>
    [Range(1, 10_000)] public int PageSize { get; set; } = 1000;
    [Range(1, 256)] public int ManifestHeadParallelism { get; set; } = 16;
    /// <summary>A job row written but not yet published is published by the sweeper after this long (submitter crashed).</summary>
    [Range(1, 3600)] public int PublishGraceSeconds { get; set; } = 60;
    /// <summary>
    /// Lease of a submission in progress, renewed every third of it and with each page: an orchestrator that dies while
    /// listing leaves the batch 'submitting' for at most this long before a resumer of any replica finishes it.
    /// </summary>
    [Range(1, 3600)] public int SubmitLeaseSeconds { get; set; } = 30;
    /// <summary>How often the submission resumer looks for batches left 'submitting' by a dead orchestrator.</summary>
    [Range(0.05, 3600)] public double ResumeIntervalSeconds { get; set; } = 5;
    /// <summary>Rows per Parquet row group of an export: the most rows an export holds in memory at once.</summary>
    [Range(1, 1_000_000)] public int ExportRowGroupSize { get; set; } = 10_000;
    /// <summary>
    /// Attempts per job (failed attempts and expired leases) before it fails for good, for a batch whose submit request
    /// sets no maxAttempts. Stored on the batch at submission: the workers and the sweeper read it from there.
    /// </summary>
    [Range(1, MaxAttemptsLimit)] public int MaxAttempts { get; set; } = 5;

    /// <summary>Upper bound of <see cref="MaxAttempts"/> and of a request's maxAttempts (the batches table checks it too).</summary>
    public const int MaxAttemptsLimit = 100;
}
