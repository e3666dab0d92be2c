using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer.FlowMatching;

/// <summary>What stays fixed over the ODE evaluations of one chunk: semantic conditioning, positions and key mask.</summary>
public sealed class DiTChunkInputs : IDisposable
{
    /// <summary>semantic_token_embedding(ids): [B, N, H].</summary>
    public required Tensor Condition { get; init; }
    /// <summary>Absolute position embedding added to the input projection ([B, N, H]), or null.</summary>
    public Tensor? PositionEmbedding { get; init; }
    /// <summary>RoPE cos/sin [B, N, 1, head_dim/2], or null.</summary>
    public (Tensor Cos, Tensor Sin)? Rope { get; init; }
    /// <summary>Additive key mask [B, 1, 1, cached + N] for padded batches, or null.</summary>
    public Tensor? KeyMask { get; init; }

    public void Dispose()
    {
        Condition.Dispose();
        PositionEmbedding?.Dispose();
        Rope?.Cos.Dispose();
        Rope?.Sin.Dispose();
        KeyMask?.Dispose();
    }
}

/// <summary>
/// The flow-matching DiT ("DiTPrefix"): predicts the velocity of mel frames conditioned on semantic tokens through
/// adaLN only, attending to cached K/V of earlier chunks. Field names are the checkpoint keys (prefix
/// <c>speech_model.</c> stripped).
/// </summary>
public sealed class DiTPrefix : nn.Module
{
    private readonly TimestepEmbedder t_embedder;
    private readonly Embedding semantic_token_embedding;
    private readonly Linear input_linear;
    private readonly nn.Module? position_embedding;
    private readonly ModuleList<DiTBlock> blocks;
    private readonly DiTFinalLayer final_layer;
    // a tuple, not Tensor fields, so that RegisterComponents does not make the computed tables state-dict buffers
    private readonly (Tensor Cos, Tensor Sin)? ropeTable;

    public DiTConfig Config { get; }

    public DiTPrefix(DiTConfig config) : base(nameof(DiTPrefix))
    {
        Config = config;
        t_embedder = new TimestepEmbedder(config.HiddenSize);
        semantic_token_embedding = nn.Embedding(config.SemanticVocabSize + 1, config.HiddenSize);
        input_linear = nn.Linear(config.InputSize, config.HiddenSize);
        position_embedding = config.PositionEmbeddingType switch
        {
            "sincos" => new SinusoidalPositionBuffer(),
            "learnable" => nn.Embedding(config.MaxSeqLen + 1, config.HiddenSize),
            _ => null,
        };
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depth).Select(_ => new DiTBlock(config.HiddenSize, config.NumHeads, config.MlpHidden)).ToArray());
        final_layer = new DiTFinalLayer(config.HiddenSize, config.InputSize);
        if (config.UseRope)
            ropeTable = Rope.Table(config.HeadDim, config.RopeTableLength, config.RopeBase, config.RopeInterpolationFactor);
        RegisterComponents();
    }

    public int Depth => Config.Depth;

    /// <summary>
    /// Builds the per-chunk inputs for rows of frame ids and absolute position ids ([B, N] each, CPU int64).
    /// Sinusoid rows follow the reference: a cumulative count of non-zero position ids within the chunk.
    /// </summary>
    public DiTChunkInputs PrepareChunk(Tensor frameIds, Tensor positionIds, Tensor? keyMask, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var dev = input_linear.weight!.device;
        var ids = frameIds.to(dev);
        var cond = semantic_token_embedding.call(ids);
        Tensor? pos = null;
        long b = positionIds.shape[0], n = positionIds.shape[1];
        if (position_embedding is SinusoidalPositionBuffer)
        {
            var nz = positionIds.ne(0).to(ScalarType.Int64);
            var rows = nz.cumsum(1).mul(nz).reshape(-1).data<long>().ToArray();
            pos = Rope.Sinusoids(rows, Config.HiddenSize, dev).reshape(b, n, Config.HiddenSize).to(dtype);
        }
        else if (position_embedding is Embedding learned)
        {
            pos = learned.call(positionIds.to(dev));
        }
        (Tensor, Tensor)? rope = null;
        if (ropeTable is var (ropeCos, ropeSin))
        {
            long maxPos = positionIds.max().item<long>();
            if (maxPos >= ropeCos.shape[0])
                throw new InvalidOperationException($"position id {maxPos} is beyond the RoPE table ({ropeCos.shape[0]} rows)");
            var flat = positionIds.reshape(-1);
            var c = ropeCos.index_select(0, flat).reshape(b, n, 1, -1).to(dev);
            var s = ropeSin.index_select(0, flat).reshape(b, n, 1, -1).to(dev);
            rope = (c.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
        }
        return new DiTChunkInputs
        {
            Condition = cond.MoveToOuterDisposeScope(),
            PositionEmbedding = pos?.MoveToOuterDisposeScope(),
            Rope = rope,
            KeyMask = keyMask?.to(dtype, dev).MoveToOuterDisposeScope(),
        };
    }

    /// <summary>
    /// One velocity evaluation. <paramref name="x"/>: [B, N, input_size]; <paramref name="tInt"/>: [B] int64 (⌊1000·t⌋).
    /// <paramref name="cache"/>: per-block cached K/V or null; <paramref name="current"/>: receives each block's own K/V.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor tInt, DiTChunkInputs inputs, IReadOnlyList<KvPair>? cache, List<KvPair>? current)
    {
        using var scope = NewDisposeScope();
        var h = input_linear.call(x);
        if (inputs.PositionEmbedding is not null) h = h.add(inputs.PositionEmbedding);
        var temb = t_embedder.forward(tInt.to(x.device), x.dtype);
        var c = temb.unsqueeze(1).add(inputs.Condition);
        for (int i = 0; i < blocks.Count; i++)
            h = blocks[i].Forward(h, c, inputs.Rope, cache?[i], inputs.KeyMask, current);
        return final_layer.Forward(h, c).MoveToOuterDisposeScope();
    }
}
