using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.Whisper;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>
/// Writes a tiny random <c>whisper-large-v3/</c> folder with the real layout: config.json (HF WhisperConfig fields),
/// preprocessor_config.json and model.safetensors holding <c>encoder.*</c> (embed_positions = sinusoids) plus a few
/// <c>decoder.*</c> keys that a loader must skip.
/// </summary>
public static class TinyWhisperCheckpoint
{
    public static void Write(string folder, long seed, int dModel = 64, int layers = 2, int heads = 4, int ffnDim = 128,
        int numMelBins = 128, int maxSourcePositions = 1500)
    {
        var config = new WhisperConfig(dModel, layers, heads, ffnDim, numMelBins, maxSourcePositions);
        config.Validate("tiny whisper");
        Directory.CreateDirectory(folder);
        TinyWeights.WriteJson(Path.Combine(folder, KimiAudioLayout.Config), new Dictionary<string, object>
        {
            ["_name_or_path"] = "whisper-large-v3",
            ["activation_dropout"] = 0.0,
            ["activation_function"] = "gelu",
            ["architectures"] = new[] { "WhisperModel" },
            ["attention_dropout"] = 0.0,
            ["d_model"] = dModel,
            ["decoder_attention_heads"] = heads,
            ["decoder_ffn_dim"] = ffnDim,
            ["decoder_layers"] = 1,
            ["dropout"] = 0.0,
            ["encoder_attention_heads"] = heads,
            ["encoder_ffn_dim"] = ffnDim,
            ["encoder_layers"] = layers,
            ["is_encoder_decoder"] = true,
            ["max_source_positions"] = maxSourcePositions,
            ["max_target_positions"] = 448,
            ["model_type"] = "whisper",
            ["num_hidden_layers"] = layers,
            ["num_mel_bins"] = numMelBins,
            ["scale_embedding"] = false,
            ["torch_dtype"] = "float32",
            ["vocab_size"] = 128,
        });
        TinyWeights.WriteJson(Path.Combine(folder, KimiAudioLayout.PreprocessorConfig), TinyWeights.PreprocessorConfig(numMelBins));

        using var encoder = new WhisperEncoder(config);
        TinyWeights.Fill(encoder, seed);
        using var g = new Generator((ulong)seed + 1);
        var tensors = encoder.state_dict().ToDictionary(kv => "encoder." + kv.Key, kv => kv.Value);
        tensors["decoder.embed_tokens.weight"] = randn([128, dModel], generator: g);
        tensors["decoder.embed_positions.weight"] = randn([448, dModel], generator: g);
        tensors["decoder.layer_norm.weight"] = ones(dModel);
        tensors["decoder.layer_norm.bias"] = zeros(dModel);
        SafetensorsWriter.Write(Path.Combine(folder, KimiAudioLayout.Safetensors), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
