using System.Globalization;
using System.Text.Json;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Detokenizer;
using KimiAudio.Model.Detokenizer.FlowMatching;
using KimiAudio.Model.Detokenizer.Vocoder;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>Sizes of a random detokenizer + vocoder pair (defaults: the tiny layout of the detok-tiny-a fixture).</summary>
public sealed record TinyDetokenizerSpec
{
    public int HiddenSize { get; init; } = 64;
    public int Depth { get; init; } = 2;
    public int NumHeads { get; init; } = 4;
    public double MlpRatio { get; init; } = 4.0;
    public int SemanticVocabSize { get; init; } = 64;
    public string PositionEmbeddingType { get; init; } = "sincos";
    public bool UseRope { get; init; } = true;
    public int MaxSeqLen { get; init; } = 4096;
    public bool NormalizeMel { get; init; } = true;
    public double MelMean { get; init; } = -4.5;
    public double MelStd { get; init; } = 2.2;
    public int[] UpsampleRates { get; init; } = [5, 4, 4, 3, 2];
    public int[] UpsampleKernelSizes { get; init; } = [11, 8, 8, 7, 4];
    public int UpsampleInitialChannel { get; init; } = 64;
    public int[] ResblockKernelSizes { get; init; } = [3, 7];
    public int[][] ResblockDilationSizes { get; init; } = [[1, 3], [1, 3]];
    public string Activation { get; init; } = "snakebeta";

    /// <summary>A mid-size random configuration for benchmarks (not the real sizes: those need the real weights' memory).</summary>
    public static TinyDetokenizerSpec MidSize { get; } = new()
    {
        HiddenSize = 512,
        Depth = 8,
        NumHeads = 8,
        SemanticVocabSize = 16384,
        UpsampleRates = [5, 2, 2, 2, 2, 3, 2],
        UpsampleKernelSizes = [9, 4, 4, 4, 4, 5, 4],
        UpsampleInitialChannel = 256,
        ResblockKernelSizes = [3, 7, 11],
        ResblockDilationSizes = [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    };
}

/// <summary>
/// Writes a random detokenizer and vocoder with the real file layout: <c>audio_detokenizer/config.yaml</c> +
/// <c>model.pt</c> (a Lightning-like training checkpoint: epoch, global_step, state_dict of <c>speech_model.*</c> plus
/// <c>mel_extractor.*</c>, optimizer_states with Adam moments and Python floats, lr_schedulers) and
/// <c>vocoder/config.json</c> + <c>model.pt</c> ({"generator": OrderedDict} with weight_g/weight_v pairs).
/// </summary>
public static class TinyDetokenizerCheckpoint
{
    public static void Write(string folder, long seed, TinyDetokenizerSpec? spec = null)
    {
        spec ??= new TinyDetokenizerSpec();
        var detokDir = Directory.CreateDirectory(System.IO.Path.Combine(folder, KimiAudioLayout.DetokenizerFolder)).FullName;
        var vocDir = Directory.CreateDirectory(System.IO.Path.Combine(folder, KimiAudioLayout.VocoderFolder)).FullName;
        using var gen = new Generator((ulong)seed, CPU);
        using var scope = NewDisposeScope();

        File.WriteAllText(System.IO.Path.Combine(detokDir, KimiAudioLayout.DetokenizerConfig), Yaml(spec));
        var ditConfig = DiTConfig.Load(System.IO.Path.Combine(detokDir, KimiAudioLayout.DetokenizerConfig));
        using (var dit = new DiTPrefix(ditConfig))
        {
            var stateDict = new PyDict { IsOrdered = true };
            var state = new PyDict();
            var paramIds = new List<object?>();
            long id = 0;
            foreach (var (name, t) in dit.state_dict())
            {
                var value = RandomFor(name, t.shape, gen);
                stateDict.Set("speech_model." + name, value);
                var moments = new PyDict();
                moments.Set("step", 12345.0);
                moments.Set("exp_avg", randn(t.shape, generator: gen).mul(1e-3));
                moments.Set("exp_avg_sq", rand(t.shape, generator: gen).mul(1e-6));
                state.Set(id, moments);
                paramIds.Add(id++);
            }
            stateDict.Set("mel_extractor.mel_basis", rand([ditConfig.InputSize, 513], generator: gen));
            stateDict.Set("mel_extractor.window", hann_window(1024));
            var group = new PyDict();
            group.Set("lr", 1e-4);
            group.Set("betas", new object?[] { 0.9, 0.98 });
            group.Set("eps", 1e-8);
            group.Set("weight_decay", 0.0);
            group.Set("params", paramIds);
            var optimizer = new PyDict();
            optimizer.Set("state", state);
            optimizer.Set("param_groups", new List<object?> { group });
            var scheduler = new PyDict();
            scheduler.Set("last_epoch", 12345L);
            var root = new PyDict();
            root.Set("epoch", 3L);
            root.Set("global_step", 12345L);
            root.Set("pytorch-lightning_version", "1.9.0");
            root.Set("state_dict", stateDict);
            root.Set("optimizer_states", new List<object?> { optimizer });
            root.Set("lr_schedulers", new List<object?> { scheduler });
            TorchZipWriter.Write(System.IO.Path.Combine(detokDir, KimiAudioLayout.TorchCheckpoint), root, "model");
        }

        File.WriteAllText(System.IO.Path.Combine(vocDir, KimiAudioLayout.Config), VocoderJson(spec));
        var vocConfig = VocoderConfig.Load(System.IO.Path.Combine(vocDir, KimiAudioLayout.Config));
        using (var voc = new BigVGanGenerator(vocConfig))
        {
            var generator = new PyDict { IsOrdered = true };
            using var filter = KaiserSincFilter(0.25, 0.3, 12);
            foreach (var (name, t) in voc.state_dict())
            {
                if (name.EndsWith(".filter", StringComparison.Ordinal))
                    generator.Set(name, filter.reshape(1, 1, 12).clone());
                else if (name.EndsWith(".weight", StringComparison.Ordinal) && t.ndim == 3)
                {
                    var v = randn(t.shape, generator: gen).mul(1.0 / Math.Sqrt(t.shape[1] * t.shape[2]));
                    var gShape = new long[t.ndim];
                    Array.Fill(gShape, 1L);
                    gShape[0] = t.shape[0];
                    var g = rand(gShape, generator: gen).add(0.5);   // per-channel norm of the folded weight, independent of ‖v‖
                    generator.Set(name + "_g", g);
                    generator.Set(name + "_v", v);
                }
                else   // everything else: biases, Snake alpha/beta
                    generator.Set(name, randn(t.shape, generator: gen).mul(0.1));
            }
            var root = new PyDict();
            root.Set("generator", generator);
            TorchZipWriter.Write(System.IO.Path.Combine(vocDir, KimiAudioLayout.TorchCheckpoint), root, "model");
        }
    }

    private static Tensor RandomFor(string name, long[] shape, Generator gen)
    {
        if (name.EndsWith("_float_tensor", StringComparison.Ordinal)) return zeros(shape);
        if (name.EndsWith("embedding.weight", StringComparison.Ordinal)) return randn(shape, generator: gen);
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return randn(shape, generator: gen).mul(0.1);
        if (shape.Length == 2) return randn(shape, generator: gen).mul(1.0 / Math.Sqrt(shape[1]));
        return randn(shape, generator: gen).mul(0.1);
    }

    /// <summary>The BigVGAN anti-aliasing filter: Kaiser-windowed sinc, normalised to sum 1 (even length).</summary>
    public static Tensor KaiserSincFilter(double cutoff, double halfWidth, int taps)
    {
        using var scope = NewDisposeScope();
        int half = taps / 2;
        double a = 2.285 * (half - 1) * Math.PI * 4 * halfWidth + 7.95;
        double beta = a > 50 ? 0.1102 * (a - 8.7) : a >= 21 ? 0.5842 * Math.Pow(a - 21, 0.4) + 0.07886 * (a - 21) : 0;
        var window = kaiser_window(taps, periodic: false, beta: (float)beta);
        var time = taps % 2 == 0 ? arange(-half, half, ScalarType.Float32).add(0.5) : arange(taps, ScalarType.Float32).sub(half);
        var f = window.mul(sinc(time.mul(2 * cutoff))).mul(2 * cutoff);
        return f.div(f.sum()).MoveToOuterDisposeScope();
    }

    private static string Yaml(TinyDetokenizerSpec s)
    {
        string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string B(bool v) => v ? "true" : "false";
        return $"""
            # random Kimi-Audio detokenizer (TinyDetokenizerCheckpoint); real key structure
            model:
              dit:
                input_size: 80
                semantic_vocab_size: {s.SemanticVocabSize}
                hidden_size: {s.HiddenSize}
                depth: {s.Depth}
                num_heads: {s.NumHeads}
                mlp_ratio: {D(s.MlpRatio)}
                ffn_type: vanilla_mlp
                ffn_gated_glu: false
                ffn_act_layer: gelu
                ffn_conv_kernel_size: 5
                use_rope: {B(s.UseRope)}
                rope_params:
                  max_position_embeddings: 4096
                  rope_base: 10000.0
                  rope_interpolation_factor: 1.0
                position_embedding_type: {s.PositionEmbeddingType}
                max_seq_len: {s.MaxSeqLen}
            normalize_mel: {B(s.NormalizeMel)}
            mel_mean: {D(s.MelMean)}
            mel_std: {D(s.MelStd)}

            """;
    }

    private static string VocoderJson(TinyDetokenizerSpec s) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["resblock"] = "1",
        ["upsample_rates"] = s.UpsampleRates,
        ["upsample_kernel_sizes"] = s.UpsampleKernelSizes,
        ["upsample_initial_channel"] = s.UpsampleInitialChannel,
        ["resblock_kernel_sizes"] = s.ResblockKernelSizes,
        ["resblock_dilation_sizes"] = s.ResblockDilationSizes,
        ["use_tanh_at_final"] = true,
        ["use_bias_at_final"] = true,
        ["activation"] = s.Activation,
        ["snake_logscale"] = true,
        ["num_mels"] = 80,
        ["n_fft"] = 1024,
        ["hop_size"] = s.UpsampleRates.Aggregate(1, (a, b) => a * b),
        ["win_size"] = 1024,
        ["sampling_rate"] = 24000,
        ["fmin"] = 0,
        ["fmax"] = null,
    }, new JsonSerializerOptions { WriteIndented = true });
}
