using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>A submit request that passed validation; <paramref name="MaxAttempts"/> null = Orchestrator:MaxAttempts.</summary>
public sealed record ValidatedBatch(
    S3Uri Location, bool IsManifest, string Task, string? Question, string OutputType, SamplingOptions Sampling, byte Priority, int? MaxAttempts = null)
{
    public string SourceKind => IsManifest ? "manifest" : "prefix";
}
