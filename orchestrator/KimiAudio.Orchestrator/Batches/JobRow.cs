namespace KimiAudio.Orchestrator.Batches;

/// <summary>A job row as written by the submitter (binary COPY).</summary>
public sealed record JobRow(
    Guid JobId, int Seq, string State, SourceItem Item, string OptionsHash, DateTime? RedeliverAt, Guid? ReusedJobId);
