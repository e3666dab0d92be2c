using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KimiAudio.Model.Checkpoints;

namespace KimiAudio.Model.Llm;

/// <summary>
/// The LLM's <c>config.json</c> (a Qwen2Config plus the <c>kimia_*</c> keys). Every size, id and offset the model uses
/// comes from here; nothing is assumed about the real 7B values.
/// </summary>
public sealed record KimiAudioConfig
{
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int VocabSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required double RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    public required int MimoLayers { get; init; }
    /// <summary>Index of the trunk layer after which the hidden state is copied into the MIMO (audio) branch.</summary>
    public required int MimoFromLayerIndex { get; init; }
    public required int AudioDelayTokens { get; init; }
    /// <summary>First audio-stream id: semantic id s is fed as s + offset.</summary>
    public required int TokenOffset { get; init; }
    public required int TextOutputVocab { get; init; }
    public required int AudioOutputVocab { get; init; }
    public required int AdaptorInputDim { get; init; }
    public required int MediaBegin { get; init; }
    public required int MediaEnd { get; init; }
    public required bool UseWhisperFeature { get; init; }
    public required int NumBaseTokens { get; init; }
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public string TorchDType { get; init; } = "bfloat16";
    public string HiddenAct { get; init; } = "silu";

    public int HeadDim => HiddenSize / NumAttentionHeads;

    public static KimiAudioConfig Load(string path)
    {
        var json = JsonConfig.Open(path, m => new CheckpointException(m));
        int I(string k) => json.Int(k);
        double D(string k) => json.Double(k);
        int? OptI(string k) => json.IntOrNull(k);
        string? OptS(string k) => json.StringOrNull(k);
        bool OptB(string k, bool dflt) => json.BoolOr(k, dflt);

        var heads = I("num_attention_heads");
        var cfg = new KimiAudioConfig
        {
            HiddenSize = I("hidden_size"),
            IntermediateSize = I("intermediate_size"),
            NumHiddenLayers = I("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = OptI("num_key_value_heads") ?? heads,
            VocabSize = I("vocab_size"),
            MaxPositionEmbeddings = I("max_position_embeddings"),
            RmsNormEps = D("rms_norm_eps"),
            RopeTheta = D("rope_theta"),
            MimoLayers = I("kimia_mimo_layers"),
            MimoFromLayerIndex = I("kimia_mimo_transformer_from_layer_index"),
            // the June-2025 reference reads this key; the May code hard-coded 6
            AudioDelayTokens = OptI("kimia_mimo_audiodelaytokens") ?? 6,
            TokenOffset = I("kimia_token_offset"),
            TextOutputVocab = I("kimia_text_output_vocab"),
            AudioOutputVocab = I("kimia_audio_output_vocab"),
            AdaptorInputDim = I("kimia_adaptor_input_dim"),
            MediaBegin = I("kimia_media_begin"),
            MediaEnd = I("kimia_media_end"),
            UseWhisperFeature = OptB("use_whisper_feature", true),
            NumBaseTokens = I("num_base_tokens"),
            PadTokenId = OptI("pad_token_id"),
            BosTokenId = OptI("bos_token_id"),
            EosTokenId = OptI("eos_token_id"),
            TorchDType = OptS("torch_dtype") ?? "bfloat16",
            HiddenAct = OptS("hidden_act") ?? "silu",
        };
        cfg.Validate(path);
        return cfg;
    }

    public void Validate(string source)
    {
        void Check(bool ok, string what)
        {
            if (!ok) throw new CheckpointException($"{source}: invalid config: {what}");
        }
        Check(HiddenSize > 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, "hidden_size must be a positive multiple of num_attention_heads");
        Check(HeadDim % 2 == 0, "head_dim must be even (rotary embedding)");
        Check(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0, "num_attention_heads must be a multiple of num_key_value_heads");
        Check(NumHiddenLayers > 0 && MimoLayers >= 0, "layer counts must be positive");
        Check(MimoFromLayerIndex >= 0 && MimoFromLayerIndex < NumHiddenLayers, $"kimia_mimo_transformer_from_layer_index {MimoFromLayerIndex} outside 0..{NumHiddenLayers - 1}");
        Check(TokenOffset > 0 && TokenOffset < VocabSize, "kimia_token_offset must lie inside the vocabulary");
        Check(MediaBegin < TokenOffset && MediaEnd < TokenOffset, "media ids must be text-range ids");
        Check(AudioDelayTokens >= 0, "kimia_mimo_audiodelaytokens must be >= 0");
        Check(HiddenAct == "silu", $"hidden_act '{HiddenAct}' is not supported (silu only)");
        Check(RmsNormEps > 0 && RopeTheta > 0, "rms_norm_eps and rope_theta must be positive");
    }

    /// <summary>Serialises every field under its config.json key (used by the tiny checkpoint writer).</summary>
    public JsonObject ToJson() => new()
    {
        ["architectures"] = new JsonArray("MoonshotKimiaForCausalLM"),
        ["auto_map"] = new JsonObject
        {
            ["AutoConfig"] = "configuration_moonshot_kimia.KimiAudioConfig",
            ["AutoModel"] = "modeling_moonshot_kimia.MoonshotKimiaForCausalLM",
            ["AutoModelForCausalLM"] = "modeling_moonshot_kimia.MoonshotKimiaForCausalLM",
        },
        ["attention_dropout"] = 0.0,
        ["bos_token_id"] = BosTokenId,
        ["eos_token_id"] = EosTokenId,
        ["pad_token_id"] = PadTokenId,
        ["hidden_act"] = HiddenAct,
        ["hidden_size"] = HiddenSize,
        ["initializer_range"] = 0.02,
        ["intermediate_size"] = IntermediateSize,
        ["kimia_adaptor_input_dim"] = AdaptorInputDim,
        ["kimia_audio_output_vocab"] = AudioOutputVocab,
        ["kimia_media_begin"] = MediaBegin,
        ["kimia_media_end"] = MediaEnd,
        ["kimia_mimo_audiodelaytokens"] = AudioDelayTokens,
        ["kimia_mimo_layers"] = MimoLayers,
        ["kimia_mimo_transformer_from_layer_index"] = MimoFromLayerIndex,
        ["kimia_text_output_vocab"] = TextOutputVocab,
        ["kimia_token_offset"] = TokenOffset,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["max_window_layers"] = NumHiddenLayers,
        ["model_type"] = "kimi_audio",
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_audio_special_tokens"] = AudioOutputVocab - (VocabSize - TokenOffset),
        ["num_base_tokens"] = NumBaseTokens,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_key_value_heads"] = NumKeyValueHeads,
        ["rms_norm_eps"] = RmsNormEps,
        ["rope_scaling"] = null,
        ["rope_theta"] = RopeTheta,
        ["sliding_window"] = 4096,
        ["tie_word_embeddings"] = false,
        ["torch_dtype"] = TorchDType,
        ["transformers_version"] = "4.44.1",
        ["use_cache"] = true,
        ["use_sliding_window"] = false,
        ["use_whisper_feature"] = UseWhisperFeature,
        ["vocab_size"] = VocabSize,
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"hidden {HiddenSize}, {NumHiddenLayers} layers (+{MimoLayers} MIMO after {MimoFromLayerIndex}), heads {NumAttentionHeads}/{NumKeyValueHeads}, vocab {VocabSize}");
}
