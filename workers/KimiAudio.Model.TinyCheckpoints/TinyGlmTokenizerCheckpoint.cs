using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.GlmTokenizer;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>
/// Writes a tiny random <c>glm-4-voice-tokenizer/</c> folder with the real layout: config.json (WhisperVQConfig fields),
/// preprocessor_config.json and model.safetensors with top-level keys, including the unused <c>embed_positions2.weight</c>,
/// <c>ema_count</c> and <c>ema_weight</c>. The codebook is spread around the quantizer-input states of a synthetic
/// calibration signal so that ids vary along real audio.
/// </summary>
public static class TinyGlmTokenizerCheckpoint
{
    public static void Write(string folder, long seed, int dModel = 64, int heads = 4, int ffnDim = 128, int quantizePosition = 2,
        int poolingPosition = 2, int poolingKernelSize = 4, int codebookSize = 64, int causalBlockSize = 200,
        int numMelBins = 128, int maxSourcePositions = 1500)
    {
        var config = new WhisperVQConfig
        {
            DModel = dModel, EncoderAttentionHeads = heads, EncoderFfnDim = ffnDim, EncoderLayers = quantizePosition + 2,
            NumMelBins = numMelBins, MaxSourcePositions = maxSourcePositions, QuantizePosition = quantizePosition,
            QuantizeVocabSize = codebookSize, PoolingPosition = poolingPosition, PoolingKernelSize = poolingKernelSize,
            PoolingType = "avg", QuantizeCausalBlockSize = causalBlockSize, EncoderCausalConvolution = true,
            CausalAttention = false, QuantizeEncoderOnly = true,
        };
        config.Validate("tiny GLM tokenizer");
        Directory.CreateDirectory(folder);
        TinyWeights.WriteJson(Path.Combine(folder, KimiAudioLayout.Config), new Dictionary<string, object>
        {
            ["_name_or_path"] = "glm-4-voice-tokenizer",
            ["activation_function"] = "gelu",
            ["architectures"] = new[] { "WhisperVQEncoder" },
            ["d_model"] = dModel,
            ["encoder_attention_heads"] = heads,
            ["encoder_causal_attention"] = false,
            ["encoder_causal_convolution"] = true,
            ["encoder_ffn_dim"] = ffnDim,
            ["encoder_layers"] = config.EncoderLayers,
            ["max_source_positions"] = maxSourcePositions,
            ["model_type"] = "whisper",
            ["num_mel_bins"] = numMelBins,
            ["pooling_kernel_size"] = poolingKernelSize,
            ["pooling_position"] = poolingPosition,
            ["pooling_type"] = "avg",
            ["quantize_causal_block_size"] = causalBlockSize,
            ["quantize_causal_encoder"] = false,
            ["quantize_encoder_only"] = true,
            ["quantize_position"] = quantizePosition,
            ["quantize_vocab_size"] = codebookSize,
            ["torch_dtype"] = "float32",
        });
        TinyWeights.WriteJson(Path.Combine(folder, KimiAudioLayout.PreprocessorConfig), TinyWeights.PreprocessorConfig(numMelBins));

        using var encoder = new WhisperVQEncoder(config);
        TinyWeights.Fill(encoder, seed);
        Calibrate(encoder, seed);
        var tensors = encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        long pooledPositions = (maxSourcePositions + poolingKernelSize - 1) / poolingKernelSize;
        tensors["embed_positions2.weight"] = tensors["embed_positions.weight"].narrow(0, 0, pooledPositions).clone();
        tensors["ema_count"] = ones(codebookSize);
        tensors["ema_weight"] = tensors["codebook.weight"].clone();
        SafetensorsWriter.Write(Path.Combine(folder, KimiAudioLayout.Safetensors), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>codebook = mean + 0.5·std·N(0, 1) of the quantizer-input states of a 4 s chirp with noise.</summary>
    private static void Calibrate(WhisperVQEncoder encoder, long seed)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var g = new Generator((ulong)seed + 2);
        int n = 4 * AudioSegmentation.SampleRate;
        var t = arange(n, ScalarType.Float32) / AudioSegmentation.SampleRate;
        var wave = 0.3f * sin(2 * Math.PI * (200 * t + 300 * t * t)) + 0.05f * randn([n], generator: g);
        using var filters = MelFilterBank.ComputeTensor(AudioSegmentation.SampleRate, 400, encoder.Config.NumMelBins, 0, 8000,
            MelFilterBank.Rounding.Float64ThenCast, CPU);
        using var mel = new LogMelSpectrogram(filters, 400, 160, CPU);
        var features = mel.Compute(wave.unsqueeze(0));
        var mask = ones([1, features.shape[2]], ScalarType.Int64);
        using var vq = encoder.call(features, mask);
        var states = vq.Pooled.reshape(-1, vq.Pooled.shape[2]);
        var mean = states.mean([0]);
        var std = states.std(0);
        var codebook = encoder.get_parameter("codebook.weight")!;
        codebook.copy_(mean + 0.5 * std * randn(codebook.shape, generator: g));
    }
}
