namespace KimiAudio.Orchestrator.Batches;

/// <summary>One input file of a batch. ETag/Size are null for a manifest item whose object does not exist (its job fails with a reason).</summary>
public sealed record SourceItem(string Bucket, string Key, string? ETag, long? Size, string? Prompt);
