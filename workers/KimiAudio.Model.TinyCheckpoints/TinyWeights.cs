using KimiAudio.Model.FrontEnd;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>
/// Seeded random weights for tiny test checkpoints: linear/conv weights N(0, 1/fan_in) so every block visibly changes the
/// output, biases N(0, 0.1), norm weights 1 + N(0, 0.1), embeddings N(0, 1), position tables = Whisper sinusoids.
/// </summary>
public static class TinyWeights
{
    /// <summary>Fills every parameter of <paramref name="module"/> in state_dict order from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Fill(nn.Module module, long seed)
    {
        using var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (name, p) in module.state_dict())
        {
            using var scope = NewDisposeScope();
            Tensor value;
            if (name.EndsWith("embed_positions.weight", StringComparison.Ordinal))
                value = Sinusoids(p.shape[0], p.shape[1]);
            else if (name.EndsWith("layer_norm.weight", StringComparison.Ordinal))
                value = 1 + 0.1 * randn(p.shape, generator: g);
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                value = 0.1 * randn(p.shape, generator: g);
            else if (p.dim() >= 2 && !name.Contains("codebook", StringComparison.Ordinal))
            {
                long fanIn = p.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                value = randn(p.shape, generator: g) / Math.Sqrt(fanIn);
            }
            else
                value = randn(p.shape, generator: g);
            p.copy_(value);
        }
    }

    /// <summary>Whisper's sinusoidal position table [length, channels]: sin half then cos half, timescales up to 10⁴.</summary>
    public static Tensor Sinusoids(long length, long channels)
    {
        if (channels % 2 != 0) throw new ArgumentException("channels must be even", nameof(channels));
        using var scope = NewDisposeScope();
        double increment = Math.Log(10000.0) / (channels / 2 - 1);
        var inv = exp(-increment * arange(channels / 2, ScalarType.Float32));
        var scaled = arange(length, ScalarType.Float32).unsqueeze(1) * inv.unsqueeze(0);
        return cat([scaled.sin(), scaled.cos()], 1).MoveToOuterDisposeScope();
    }

    /// <summary>Writes a JSON config with indentation, as HF does.</summary>
    public static void WriteJson(string path, object value) =>
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(value, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>The WhisperFeatureExtractor <c>preprocessor_config.json</c> of both Kimi-Audio front-end folders.</summary>
    public static Dictionary<string, object> PreprocessorConfig(int featureSize) => new()
    {
        ["chunk_length"] = 30,
        ["feature_extractor_type"] = "WhisperFeatureExtractor",
        ["feature_size"] = featureSize,
        ["hop_length"] = 160,
        ["n_fft"] = 400,
        ["n_samples"] = AudioSegmentation.SegmentSamples,
        ["nb_max_frames"] = 3000,
        ["padding_side"] = "right",
        ["padding_value"] = 0.0,
        ["processor_class"] = "WhisperProcessor",
        ["return_attention_mask"] = false,
        ["sampling_rate"] = AudioSegmentation.SampleRate,
    };
}
