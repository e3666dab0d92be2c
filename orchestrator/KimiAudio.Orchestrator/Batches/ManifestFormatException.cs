namespace KimiAudio.Orchestrator.Batches;

/// <summary>A manifest line that is not a valid item; reported to the caller as a 400 on "manifest".</summary>
public sealed class ManifestFormatException(long line, string problem) : Exception($"line {line}: {problem}");
