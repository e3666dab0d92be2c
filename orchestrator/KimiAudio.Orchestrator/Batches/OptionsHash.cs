using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KimiAudio.Contracts;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Fingerprint of everything besides the audio that decides a result: task, question, per-item prompt, output type and
/// sampling. With the content's ETag and size it is the key of incremental annotation.
/// </summary>
public static class OptionsHash
{
    /// <param name="region">A manifest row's region of a longer file: two regions of one file are different content.
    /// Without one the hash is what it was before regions existed, so earlier results stay reusable.</param>
    public static string Compute(string task, string? question, string? prompt, string outputType, SamplingOptions sampling, MediaRegion? region = null)
    {
        object?[] fields =
        [
            task, question, prompt, outputType,
            sampling.Temperature, sampling.TopK, sampling.RepetitionPenalty, sampling.Seed, sampling.MaxTokens,
        ];
        if (region is not null) fields = [.. fields, region.OffsetSeconds, region.DurationSeconds];
        var canonical = JsonSerializer.Serialize(fields);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..32];
    }
}
