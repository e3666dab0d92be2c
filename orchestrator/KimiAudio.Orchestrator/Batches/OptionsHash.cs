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
    public static string Compute(string task, string? question, string? prompt, string outputType, SamplingOptions sampling)
    {
        var canonical = JsonSerializer.Serialize(new object?[]
        {
            task, question, prompt, outputType,
            sampling.Temperature, sampling.TopK, sampling.RepetitionPenalty, sampling.Seed, sampling.MaxTokens,
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..32];
    }
}
