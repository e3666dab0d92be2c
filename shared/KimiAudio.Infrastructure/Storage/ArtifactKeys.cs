namespace KimiAudio.Infrastructure.Storage;

/// <summary>
/// Where generated speech goes: the input's bucket, under the results prefix, one object per job. Deterministic, so a
/// redelivered job overwrites the same key instead of adding a second artifact.
/// </summary>
public static class ArtifactKeys
{
    public static string For(string resultsPrefix, Guid batchId, Guid jobId) => $"{resultsPrefix}{batchId:N}/{jobId:N}.wav";
}
