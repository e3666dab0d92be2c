using System.Globalization;
using KimiAudio.Model.Checkpoints;
using YamlDotNet.RepresentationModel;

namespace KimiAudio.Model.Detokenizer.FlowMatching;

/// <summary>
/// Hyper-parameters of the flow-matching DiT, read from <c>audio_detokenizer/config.yaml</c>
/// (<c>model.dit.*</c> plus the top-level <c>normalize_mel</c>, <c>mel_mean</c>, <c>mel_std</c>).
/// </summary>
public sealed record DiTConfig
{
    public required int InputSize { get; init; }
    /// <summary>Semantic vocabulary without the CFG row; the embedding has one row more.</summary>
    public required int SemanticVocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int Depth { get; init; }
    public required int NumHeads { get; init; }
    public required double MlpRatio { get; init; }
    public required bool UseRope { get; init; }
    public required int RopeMaxPositions { get; init; }
    public required double RopeBase { get; init; }
    public required double RopeInterpolationFactor { get; init; }
    /// <summary>"sincos", "learnable" or "skip".</summary>
    public required string PositionEmbeddingType { get; init; }
    public required int MaxSeqLen { get; init; }
    public required bool NormalizeMel { get; init; }
    public required float MelMean { get; init; }
    public required float MelStd { get; init; }

    public int HeadDim => HiddenSize / NumHeads;
    public int MlpHidden => (int)(HiddenSize * MlpRatio);

    /// <summary>Rows of the RoPE table: the reference truncates it to max_seq_len when that is smaller.</summary>
    public int RopeTableLength => Math.Min(RopeMaxPositions, MaxSeqLen);

    public static DiTConfig Load(string yamlPath)
    {
        if (!File.Exists(yamlPath)) throw new CheckpointException($"detokenizer config not found: {yamlPath}");
        var stream = new YamlStream();
        using (var reader = new StreamReader(yamlPath)) stream.Load(reader);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new CheckpointException($"{yamlPath}: not a YAML mapping");
        var dit = Map(Map(root, "model", yamlPath), "dit", yamlPath);
        var ffn = OptString(dit, "ffn_type") ?? "conv1d_conv1d";
        if (ffn != "vanilla_mlp")
            throw new CheckpointException($"{yamlPath}: model.dit.ffn_type '{ffn}' is not implemented (the reference implements only vanilla_mlp)");
        var rope = dit.Children.TryGetValue(new YamlScalarNode("rope_params"), out var rp) ? rp as YamlMappingNode : null;
        var cfg = new DiTConfig
        {
            InputSize = Int(dit, "input_size", yamlPath),
            SemanticVocabSize = Int(dit, "semantic_vocab_size", yamlPath),
            HiddenSize = Int(dit, "hidden_size", yamlPath),
            Depth = Int(dit, "depth", yamlPath),
            NumHeads = Int(dit, "num_heads", yamlPath),
            MlpRatio = Double(dit, "mlp_ratio", yamlPath),
            UseRope = OptBool(dit, "use_rope") ?? false,
            RopeMaxPositions = rope is null ? 4096 : Int(rope, "max_position_embeddings", yamlPath),
            RopeBase = rope is null ? 10000.0 : Double(rope, "rope_base", yamlPath),
            RopeInterpolationFactor = rope is null ? 1.0 : Double(rope, "rope_interpolation_factor", yamlPath),
            PositionEmbeddingType = OptString(dit, "position_embedding_type") ?? throw Missing("model.dit.position_embedding_type", yamlPath),
            MaxSeqLen = Int(dit, "max_seq_len", yamlPath),
            NormalizeMel = OptBool(root, "normalize_mel") ?? throw Missing("normalize_mel", yamlPath),
            MelMean = (float)ScalarOrNull(root, "mel_mean", yamlPath),
            MelStd = (float)ScalarOrNull(root, "mel_std", yamlPath),
        };
        if (cfg.HiddenSize % cfg.NumHeads != 0)
            throw new CheckpointException($"{yamlPath}: hidden_size {cfg.HiddenSize} is not divisible by num_heads {cfg.NumHeads}");
        if (cfg.UseRope && cfg.HeadDim % 2 != 0)
            throw new CheckpointException($"{yamlPath}: RoPE needs an even head_dim, got {cfg.HeadDim}");
        if (cfg.PositionEmbeddingType is not ("sincos" or "learnable" or "skip"))
            throw new CheckpointException($"{yamlPath}: position_embedding_type '{cfg.PositionEmbeddingType}' is not one of sincos, learnable, skip");
        return cfg;
    }

    private static CheckpointException Missing(string key, string path) => new($"{path}: missing key {key}");

    private static YamlMappingNode Map(YamlMappingNode m, string key, string path) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlMappingNode mm ? mm : throw Missing(key, path);

    private static string? OptString(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s ? s.Value : null;

    private static bool? OptBool(YamlMappingNode m, string key) => OptString(m, key)?.ToLowerInvariant() switch
    {
        null => null,
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        var v => throw new CheckpointException($"'{key}' is not a boolean: {v}"),
    };

    private static int Int(YamlMappingNode m, string key, string path)
    {
        var d = Double(m, key, path);
        if (d != Math.Floor(d)) throw new CheckpointException($"{path}: '{key}' must be an integer, got {d}");
        return checked((int)d);
    }

    private static double Double(YamlMappingNode m, string key, string path)
    {
        var s = OptString(m, key) ?? throw Missing(key, path);
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new CheckpointException($"{path}: '{key}' is not a number: {s}");
    }

    private static double ScalarOrNull(YamlMappingNode m, string key, string path)
    {
        if (!m.Children.TryGetValue(new YamlScalarNode(key), out var n)) throw Missing(key, path);
        if (n is not YamlScalarNode s)
            throw new CheckpointException($"{path}: '{key}' must be a scalar (the streaming detokenizer applies one mean/std to every mel bin)");
        if (s.Value is null or "null" or "~") return double.NaN;
        return double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new CheckpointException($"{path}: '{key}' is not a number: {s.Value}");
    }
}
