namespace KimiAudio.Orchestrator.Batches;

/// <summary>One input file of a batch. ETag/Size are null for a manifest item whose object does not exist (its job fails with a reason).</summary>
/// <remarks><paramref name="Manifest"/>: the manifest row the item came from (region, reference, metadata, or why it is malformed).</remarks>
public sealed record SourceItem(string Bucket, string Key, string? ETag, long? Size, string? Prompt, Manifests.ManifestItem? Manifest = null);
