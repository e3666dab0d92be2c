using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;

namespace KimiAudio.Model.GlmTokenizer;

/// <summary>The fields of the GLM-4-Voice tokenizer's <c>config.json</c> (WhisperVQConfig) that inference uses.</summary>
public sealed record WhisperVQConfig
{
    public required int DModel { get; init; }
    public required int EncoderAttentionHeads { get; init; }
    public required int EncoderFfnDim { get; init; }
    public required int EncoderLayers { get; init; }
    public required int NumMelBins { get; init; }
    public required int MaxSourcePositions { get; init; }
    /// <summary>Layers that exist (and run) before the quantizer.</summary>
    public required int QuantizePosition { get; init; }
    public required int QuantizeVocabSize { get; init; }
    /// <summary>Pool after this many layers (null: no pooling).</summary>
    public int? PoolingPosition { get; init; }
    public int? PoolingKernelSize { get; init; }
    public string PoolingType { get; init; } = "avg";
    /// <summary>50 Hz block size of the block-causal attention mask (null: plain padding mask).</summary>
    public int? QuantizeCausalBlockSize { get; init; }
    public bool EncoderCausalConvolution { get; init; }
    /// <summary>encoder_causal_attention or quantize_causal_encoder: layers use a plain causal mask instead.</summary>
    public bool CausalAttention { get; init; }
    public bool QuantizeEncoderOnly { get; init; } = true;

    public int HeadDim => DModel / EncoderAttentionHeads;

    /// <summary>50 Hz frames per 12.5 Hz token: the pooling kernel (1 without pooling).</summary>
    public int PoolFactor => PoolingKernelSize ?? 1;

    /// <summary>Samples per token: conv strides (1·2) × pool × hop.</summary>
    public int SamplesPerToken(int hopLength) => 2 * PoolFactor * hopLength;

    public void Validate(string source)
    {
        if (DModel <= 0 || EncoderAttentionHeads <= 0 || EncoderFfnDim <= 0 || NumMelBins <= 0 || MaxSourcePositions <= 0 || QuantizeVocabSize <= 0)
            throw new InvalidDataException($"{source}: sizes must be positive: {this}");
        if (DModel % EncoderAttentionHeads != 0)
            throw new InvalidDataException($"{source}: d_model {DModel} is not divisible by encoder_attention_heads {EncoderAttentionHeads}");
        if (QuantizePosition <= 0)
            throw new InvalidDataException($"{source}: quantize_position must be at least 1, got {QuantizePosition}");
        if (PoolingKernelSize is <= 0)
            throw new InvalidDataException($"{source}: pooling_kernel_size must be positive, got {PoolingKernelSize}");
        if (PoolingKernelSize is not null && (PoolingPosition is null || PoolingPosition > QuantizePosition || PoolingPosition <= 0))
            throw new InvalidDataException($"{source}: pooling_position {PoolingPosition} must be within 1..quantize_position {QuantizePosition}");
        if (PoolingType is not ("avg" or "max"))
            throw new InvalidDataException($"{source}: pooling_type '{PoolingType}' is not supported (avg or max)");
        if (QuantizeCausalBlockSize is <= 0)
            throw new InvalidDataException($"{source}: quantize_causal_block_size must be positive, got {QuantizeCausalBlockSize}");
    }

    /// <summary>Reads <c>config.json</c> of a GLM-4-Voice tokenizer folder.</summary>
    public static WhisperVQConfig Load(string folder)
    {
        var json = JsonConfig.Open(System.IO.Path.Combine(folder, KimiAudioLayout.Config));
        var act = json.StringOr("activation_function", "gelu");
        if (act != "gelu")
            throw new InvalidDataException($"{json.Path}: activation_function '{act}' is not supported (the reference uses exact GELU)");
        var kernel = json.IntOrNull("pooling_kernel_size");
        var c = new WhisperVQConfig
        {
            DModel = json.Int("d_model"),
            EncoderAttentionHeads = json.Int("encoder_attention_heads"),
            EncoderFfnDim = json.Int("encoder_ffn_dim"),
            EncoderLayers = json.Int("encoder_layers"),
            NumMelBins = json.Int("num_mel_bins"),
            MaxSourcePositions = json.Int("max_source_positions"),
            QuantizePosition = json.Int("quantize_position"),
            QuantizeVocabSize = json.Int("quantize_vocab_size"),
            PoolingKernelSize = kernel,
            PoolingPosition = kernel is null ? null : json.IntOrNull("pooling_position"),
            PoolingType = json.StringOr("pooling_type", "avg"),
            QuantizeCausalBlockSize = json.IntOrNull("quantize_causal_block_size"),
            EncoderCausalConvolution = json.BoolOr("encoder_causal_convolution", false),
            CausalAttention = json.BoolOr("encoder_causal_attention", false) || json.BoolOr("quantize_causal_encoder", false),
            QuantizeEncoderOnly = json.BoolOr("quantize_encoder_only", false),
        };
        c.Validate(json.Path);
        return c;
    }
}
