using KimiAudio.Model.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Llm;

/// <summary>The <c>model.*</c> part of the checkpoint: embeddings, trunk, MIMO branch, both norms and the adaptor.</summary>
public sealed class KimiaModel : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<Qwen2DecoderLayer> layers;
    private readonly Qwen2RmsNorm norm;
    private readonly ModuleList<Qwen2DecoderLayer> mimo_layers;
    private readonly Qwen2RmsNorm mimo_norm;
    private readonly VqAdaptor? vq_adaptor;

    public KimiaModel(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(KimiaModel))
    {
        embed_tokens = Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        layers = new ModuleList<Qwen2DecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new Qwen2DecoderLayer(c, device, dtype)).ToArray());
        norm = new Qwen2RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        mimo_layers = new ModuleList<Qwen2DecoderLayer>(Enumerable.Range(0, c.MimoLayers).Select(_ => new Qwen2DecoderLayer(c, device, dtype)).ToArray());
        mimo_norm = new Qwen2RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        if (c.UseWhisperFeature) vq_adaptor = new VqAdaptor(c, device, dtype);
        RegisterComponents();
    }

    internal Embedding EmbedTokens => embed_tokens;
    internal VqAdaptor? Adaptor => vq_adaptor;
    internal IList<Qwen2DecoderLayer> Layers => layers;
    internal IList<Qwen2DecoderLayer> MimoLayers => mimo_layers;
    internal Qwen2RmsNorm Norm => norm;
    internal Qwen2RmsNorm MimoNorm => mimo_norm;
}

/// <summary>
/// Logits of one forward call: [B, V] for the last position (or [B, L, V] when all positions were asked for).
/// <see cref="Audio"/> is empty ([B, 0]) when the forward skipped the audio branch.
/// </summary>
public sealed record LlmLogits(Tensor Text, Tensor Audio) : IDisposable
{
    public void Dispose()
    {
        Text.Dispose();
        Audio.Dispose();
    }
}

/// <summary>
/// Stacked 12.5 Hz Whisper features placed into a prompt batch: row <c>i</c> of <see cref="Rows"/> fuses with flat
/// position <c>FlatIndex[i]</c> (= batch_row · L + position) — exactly the positions where the continuous mask is set.
/// </summary>
public sealed record ContinuousInput(Tensor FlatIndex, Tensor Rows);

/// <summary>
/// MoonshotKimiaForCausalLM: Qwen2 trunk whose hidden state is copied after layer
/// <c>kimia_mimo_transformer_from_layer_index</c> into the MIMO layers. Text logits = lm_head(norm(trunk)), audio
/// logits = mimo_output(mimo_norm(mimo)), both over the whole vocabulary.
/// </summary>
public sealed class KimiaLlm : nn.Module
{
    private readonly KimiaModel model;
    private readonly Linear lm_head;
    private readonly Linear mimo_output;

    private readonly Tensor invFreq;
    private readonly Tensor sqrtTwo;

    public KimiAudioConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }
    public int CacheLayers => Config.NumHiddenLayers + Config.MimoLayers;
    /// <summary>Optional timing callback for the stages of every forward (and the generation engine's sampling); null = off.</summary>
    public ILlmProfiler? Profiler { get; set; }

    public KimiaLlm(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(KimiaLlm))
    {
        model = new KimiaModel(c, device, dtype);
        lm_head = Linear(c.HiddenSize, c.VocabSize, hasBias: false, device: device, dtype: dtype);
        mimo_output = Linear(c.HiddenSize, c.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
        // not part of the state dict: assigned after RegisterComponents
        Config = c;
        Device = device;
        DType = dtype;
        invFreq = Rotary.InverseFrequencies(c.RopeTheta, c.HeadDim, device).DetachFromDisposeScope();
        // the reference multiplies by sqrt(2) computed as a bfloat16 tensor (the real model's dtype): 1.4140625
        sqrtTwo = tensor(2.0f, dtype: ScalarType.BFloat16).sqrt().to(dtype, device).DetachFromDisposeScope();
    }

    /// <summary>Loads <paramref name="folder"/> (config.json + model.safetensors.index.json, or model.safetensors) strictly.</summary>
    public static KimiaLlm Load(string folder, Device device, ScalarType dtype)
    {
        var config = KimiAudioConfig.Load(Path.Combine(folder, KimiAudioLayout.Config));
        using var source = CheckpointFiles.Open(folder);
        var llm = new KimiaLlm(config, device, dtype);
        try
        {
            StateDictLoader.Load(llm, source, "", IsStaleBuffer);
        }
        catch
        {
            llm.Dispose();
            throw;
        }
        llm.eval();
        return llm;
    }

    /// <summary>The checkpoint's per-layer <c>rotary_emb.inv_freq</c> buffers are stale bf16 copies: ignored, recomputed from rope_theta.</summary>
    public static bool IsStaleBuffer(string key) => key.EndsWith(".self_attn.rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>
    /// Input embeddings x0 [B, L, H]: E[audio] (+ adaptor(features), both ×√2 at continuous positions) + E[text].
    /// As in the reference, the text embedding is skipped for a row whose text ids are all 0 (whole-prompt rule: a
    /// caller embedding a window of a prompt passes <paramref name="hasText"/> [B], computed over the whole prompt).
    /// </summary>
    public Tensor Embed(Tensor audioIds, Tensor textIds, ContinuousInput? continuous, Tensor? hasText = null)
    {
        using var scope = NewDisposeScope();
        long b = audioIds.shape[0], l = audioIds.shape[1];
        var ea = model.EmbedTokens.forward(audioIds);
        if (continuous is not null && continuous.FlatIndex.shape[0] > 0)
        {
            if (model.Adaptor is null) throw new InvalidOperationException("config has use_whisper_feature = false but continuous features were given");
            var flat = ea.reshape(b * l, -1).clone();
            var idx = continuous.FlatIndex.to(Device);
            var w = model.Adaptor.forward(continuous.Rows.to(DType, Device));
            var fused = (flat.index_select(0, idx) + w) * sqrtTwo;
            flat.index_copy_(0, idx, fused);
            ea = flat.reshape(b, l, -1);
        }
        var et = model.EmbedTokens.forward(textIds);
        var keep = (hasText ?? textIds.sum(1).ne(0)).to(DType, Device).reshape(b, 1, 1);
        return (ea + et * keep).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One forward over [B, Lq] positions. <paramref name="positions"/> [B, Lq]; <paramref name="mask"/> bool
    /// [B, 1, Lq, T] or null (causal from slot 0 / single query sees all). Appends to <paramref name="cache"/> if given.
    /// Logits are for the last position, all positions (<paramref name="allPositions"/>), or, when
    /// <paramref name="lastIndex"/> [B] is given, for position <c>lastIndex[b]</c> of each row (right-padded batches).
    /// With <paramref name="audioBranch"/> false the MIMO layers and the audio head are not run (their cache layers are
    /// not written) and the audio logits are empty: for rows whose audio stream is never used (text output).
    /// <paramref name="realTokens"/> (flat indices into B·Lq of the non-pad positions of a right-padded batch) runs the
    /// token-wise work on those positions only (<see cref="PackedTokens"/>); the logits are the same.
    /// </summary>
    public LlmLogits Forward(Tensor inputsEmbeds, Tensor positions, Tensor? mask, IKvCache? cache, bool allPositions = false,
        Tensor? lastIndex = null, bool audioBranch = true, Tensor? realTokens = null)
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = Rotary.Tables(positions.to(Device), invFreq, DType);
        var profiler = Profiler;
        var packed = realTokens is null ? null : new PackedTokens(realTokens.to(Device), inputsEmbeds.shape[0], inputsEmbeds.shape[1]);
        var ctx = new AttentionContext { Cos = cos, Sin = sin, Mask = mask?.to(Device), Cache = cache, Profiler = profiler, Packed = packed };
        var (h, g) = Layers(packed is null ? inputsEmbeds : packed.Pack(inputsEmbeds), ctx, audioBranch);
        cache?.Advance(inputsEmbeds.shape[1]);
        if (packed is not null)
        {
            h = packed.Unpack(h);
            g = g is null ? null : packed.Unpack(g);
        }

        if (lastIndex is not null)
        {
            var idx = lastIndex.to(Device).reshape(-1, 1, 1).expand(-1, 1, h.shape[2]);
            h = h.gather(1, idx).squeeze(1);
            g = g?.gather(1, idx).squeeze(1);
        }
        else if (!allPositions)
        {
            h = h.select(1, -1);
            g = g?.select(1, -1);
        }
        Tensor text, audio;
        using (profiler.Span(LlmStage.TextHead)) text = DecodeLinear.Forward(lm_head, model.Norm.forward(h));
        if (g is null) audio = empty([.. h.shape[..^1], 0], dtype: text.dtype, device: Device);
        else using (profiler.Span(LlmStage.AudioHead)) audio = DecodeLinear.Forward(mimo_output, model.MimoNorm.forward(g));
        return new LlmLogits(text.MoveToOuterDisposeScope(), audio.MoveToOuterDisposeScope());
    }

    /// <summary>The trunk layers, then (with <paramref name="audioBranch"/>) the MIMO layers from the branch point: (trunk output, MIMO output or null).</summary>
    private (Tensor Trunk, Tensor? Mimo) Layers(Tensor h, AttentionContext ctx, bool audioBranch)
    {
        Tensor? g = null;
        var layers = model.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            h = layers[i].Forward(h, ctx, i);
            if (audioBranch && i == Config.MimoFromLayerIndex) g = h;
        }
        var mimo = model.MimoLayers;
        if (audioBranch) for (int j = 0; j < mimo.Count; j++) g = mimo[j].Forward(g!, ctx, layers.Count + j);
        return (h, g);
    }

    /// <summary>One group of a <see cref="ForwardMixed"/> call: its embeddings [B, Lq, H], positions, mask and cache view.</summary>
    public sealed record MixedGroup(Tensor Embeds, Tensor Positions, Tensor? Mask, IKvCache Cache, Tensor? LastIndex = null, Tensor? RealTokens = null);

    /// <summary>
    /// A decode group (one query per row) and a prefill group (right-padded chunks, logits at <c>LastIndex</c>) in one
    /// forward: norms, projections, MLPs and both heads run once over the decode tokens followed by the prefill group's
    /// real tokens, and each group attends over its own cache view with its own mask, as two <see cref="Forward"/>
    /// calls would. Returns each group's logits.
    /// </summary>
    public (LlmLogits Decode, LlmLogits Prefill) ForwardMixed(MixedGroup decode, MixedGroup prefill, bool audioBranch = true)
    {
        using var scope = NewDisposeScope();
        long d = decode.Embeds.shape[0], p = prefill.Embeds.shape[0], width = prefill.Embeds.shape[1];
        var real = prefill.RealTokens?.to(Device) ?? arange(p * width, dtype: ScalarType.Int64, device: Device);
        var packed = new PackedTokens(real, p, width);
        var (dCos, dSin) = Rotary.Tables(decode.Positions.to(Device), invFreq, DType);
        var (pCos, pSin) = Rotary.Tables(prefill.Positions.to(Device), invFreq, DType);
        var profiler = Profiler;
        var decodeCtx = new AttentionContext { Cos = dCos, Sin = dSin, Mask = decode.Mask?.to(Device), Cache = decode.Cache };
        var ctx = new AttentionContext
        {
            Cos = pCos, Sin = pSin, Mask = prefill.Mask?.to(Device), Cache = prefill.Cache, Profiler = profiler, Packed = packed,
            Decode = decodeCtx, DecodeRows = d,
        };
        var (h, g) = Layers(cat([decode.Embeds.reshape(1, d, -1), packed.Pack(prefill.Embeds)], 1), ctx, audioBranch);

        // the rows whose logits are wanted: every decode token, then each prefill row's last real token
        Tensor Rows(Tensor x)
        {
            var dec = x.narrow(1, 0, d).squeeze(0);
            var pre = packed.Unpack(x.narrow(1, d, x.shape[1] - d));
            var idx = (prefill.LastIndex ?? full(p, width - 1, dtype: ScalarType.Int64)).to(Device).reshape(-1, 1, 1).expand(-1, 1, x.shape[2]);
            return cat([dec, pre.gather(1, idx).squeeze(1)], 0);
        }
        h = Rows(h);
        g = g is null ? null : Rows(g);
        Tensor text, audio;
        using (profiler.Span(LlmStage.TextHead)) text = DecodeLinear.Forward(lm_head, model.Norm.forward(h));
        if (g is null) audio = empty([h.shape[0], 0], dtype: text.dtype, device: Device);
        else using (profiler.Span(LlmStage.AudioHead)) audio = DecodeLinear.Forward(mimo_output, model.MimoNorm.forward(g));
        var decodeLogits = new LlmLogits(text.narrow(0, 0, d).MoveToOuterDisposeScope(), audio.narrow(0, 0, d).MoveToOuterDisposeScope());
        var prefillLogits = new LlmLogits(text.narrow(0, d, p).MoveToOuterDisposeScope(), audio.narrow(0, d, p).MoveToOuterDisposeScope());
        return (decodeLogits, prefillLogits);
    }

    public KvCache NewCache(long batch, long capacity, long? maxCapacity = null) =>
        new(CacheLayers, batch, Config.NumKeyValueHeads, Config.HeadDim, capacity, DType, Device, maxCapacity);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            invFreq.Dispose();
            sqrtTwo.Dispose();
        }
        base.Dispose(disposing);
    }
}
