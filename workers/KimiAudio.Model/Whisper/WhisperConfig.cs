using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;

namespace KimiAudio.Model.Whisper;

/// <summary>Encoder sizes of a HF Whisper <c>config.json</c> (only what the encoder needs).</summary>
public sealed record WhisperConfig(int DModel, int EncoderLayers, int EncoderAttentionHeads, int EncoderFfnDim,
    int NumMelBins, int MaxSourcePositions)
{
    public int HeadDim => DModel / EncoderAttentionHeads;

    /// <summary>Mel frames the encoder takes per segment (conv2 halves them into the position table's length).</summary>
    public int InputFrames => 2 * MaxSourcePositions;

    public void Validate(string source)
    {
        if (DModel <= 0 || EncoderLayers <= 0 || EncoderAttentionHeads <= 0 || EncoderFfnDim <= 0 || NumMelBins <= 0 || MaxSourcePositions <= 0)
            throw new InvalidDataException($"{source}: encoder sizes must be positive: {this}");
        if (DModel % EncoderAttentionHeads != 0)
            throw new InvalidDataException($"{source}: d_model {DModel} is not divisible by encoder_attention_heads {EncoderAttentionHeads}");
    }

    /// <summary>Reads <c>config.json</c> of a Whisper model folder.</summary>
    public static WhisperConfig Load(string folder)
    {
        var json = JsonConfig.Open(System.IO.Path.Combine(folder, KimiAudioLayout.Config));
        var act = json.StringOr("activation_function", "gelu");
        if (act != "gelu")
            throw new InvalidDataException($"{json.Path}: activation_function '{act}' is not supported (the reference uses exact GELU)");
        var c = new WhisperConfig(json.Int("d_model"), json.Int("encoder_layers"), json.Int("encoder_attention_heads"),
            json.Int("encoder_ffn_dim"), json.Int("num_mel_bins"), json.Int("max_source_positions"));
        c.Validate(json.Path);
        return c;
    }
}
