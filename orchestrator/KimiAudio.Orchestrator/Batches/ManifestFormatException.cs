namespace KimiAudio.Orchestrator.Batches;

/// <summary>A manifest that cannot be read as a whole (a malformed row fails alone instead); reported to the caller as a 400 on "manifest".</summary>
public sealed class ManifestFormatException(long line, string problem) : Exception($"line {line}: {problem}");
