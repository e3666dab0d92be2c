using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Llm;

/// <summary>Qwen2 RMSNorm: normalises in float32, casts back to the input dtype, then multiplies by the weight.</summary>
public sealed class Qwen2RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public Qwen2RmsNorm(long size, double eps, Device device, ScalarType dtype) : base(nameof(Qwen2RmsNorm))
    {
        weight = new Parameter(ones(size, dtype: dtype, device: device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var normed = xf * (xf.pow(2).mean([-1L], keepdim: true) + eps).rsqrt();
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>SiLU-gated MLP: down(silu(gate(x)) * up(x)), no biases.</summary>
public sealed class Qwen2Mlp : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public Qwen2Mlp(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(Qwen2Mlp))
    {
        gate_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        up_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        down_proj = Linear(c.IntermediateSize, c.HiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return DecodeLinear.Forward(down_proj, functional.silu(DecodeLinear.Forward(gate_proj, x)) * DecodeLinear.Forward(up_proj, x)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// What every attention layer of one forward call shares: rotary tables for the query positions, the attention mask,
/// and the KV cache (keys are stored after RoPE).
/// </summary>
public sealed class AttentionContext
{
    /// <summary>[B, 1, Lq, head_dim] in the activation dtype.</summary>
    public required Tensor Cos { get; init; }
    public required Tensor Sin { get; init; }
    /// <summary>Bool [B, 1, Lq, T] (true = may attend) or null: plain causal attention starting at slot 0, or a single query that sees every key.</summary>
    public Tensor? Mask { get; init; }
    public IKvCache? Cache { get; init; }
    /// <summary>Times each layer's attention and MLP when set.</summary>
    public ILlmProfiler? Profiler { get; init; }
    /// <summary>Set when the layers run on the real tokens of a right-padded batch only (see <see cref="PackedTokens"/>).</summary>
    public PackedTokens? Packed { get; init; }
    /// <summary>
    /// Set in a mixed forward (<see cref="KimiaLlm.ForwardMixed"/>): the first <see cref="DecodeRows"/> packed tokens are
    /// one-query decode rows attending with this context; the rest are the <see cref="Packed"/> prefill tokens.
    /// </summary>
    public AttentionContext? Decode { get; init; }
    public long DecodeRows { get; init; }
}

/// <summary>
/// The real (non-pad) tokens of a right-padded [B, Lq] batch, as flat indices into B·Lq in row-major order. Token-wise
/// work (norms, projections, MLPs, residuals) then runs on a packed [1, N, H] tensor, so a prefill that batches a
/// 1 s prompt with a 30 s one does not pay the 30 s cost twice; only the attention itself, which needs each row's own
/// keys, is laid out [B, heads, Lq, head_dim] (pads are zero queries, masked as before, and never written to the cache).
/// </summary>
public sealed record PackedTokens(Tensor Index, long Batch, long Width)
{
    /// <summary>[1, N, F] → [B, Lq, F] with zeros at the pads.</summary>
    public Tensor Unpack(Tensor packed)
    {
        long f = packed.shape[^1];
        var full = zeros([Batch * Width, f], dtype: packed.dtype, device: packed.device);
        return full.index_copy_(0, Index, packed.reshape(-1, f)).view(Batch, Width, f);
    }

    /// <summary>[B, Lq, F] → [1, N, F].</summary>
    public Tensor Pack(Tensor padded) => padded.reshape(Batch * Width, -1).index_select(0, Index).unsqueeze(0);
}

/// <summary>Qwen2 attention: q/k/v with bias, o without; NeoX (half-split) RoPE; grouped-query attention.</summary>
public sealed class Qwen2Attention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    public Qwen2Attention(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(Qwen2Attention))
    {
        heads = c.NumAttentionHeads;
        kvHeads = c.NumKeyValueHeads;
        headDim = c.HeadDim;
        q_proj = Linear(c.HiddenSize, heads * headDim, hasBias: true, device: device, dtype: dtype);
        k_proj = Linear(c.HiddenSize, kvHeads * headDim, hasBias: true, device: device, dtype: dtype);
        v_proj = Linear(c.HiddenSize, kvHeads * headDim, hasBias: true, device: device, dtype: dtype);
        o_proj = Linear(heads * headDim, c.HiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, AttentionContext ctx, int layerIndex)
    {
        using var scope = NewDisposeScope();
        var packed = ctx.Packed;
        if (ctx.Decode is { } decode)
        {
            // mixed forward: project every token once, attend per group, project the merged outputs once
            long d = ctx.DecodeRows, rest = x.shape[1] - d;
            var qa = DecodeLinear.Forward(q_proj, x);
            var ka = DecodeLinear.Forward(k_proj, x);
            var va = DecodeLinear.Forward(v_proj, x);
            var decoded = Attend(qa.narrow(1, 0, d).reshape(d, 1, -1), ka.narrow(1, 0, d).reshape(d, 1, -1),
                va.narrow(1, 0, d).reshape(d, 1, -1), decode, layerIndex).reshape(1, d, -1);
            var prefilled = packed!.Pack(Attend(packed.Unpack(qa.narrow(1, d, rest)), packed.Unpack(ka.narrow(1, d, rest)),
                packed.Unpack(va.narrow(1, d, rest)), ctx, layerIndex));
            return DecodeLinear.Forward(o_proj, cat([decoded, prefilled], 1)).MoveToOuterDisposeScope();
        }
        Tensor Project(Linear proj) => packed is null ? DecodeLinear.Forward(proj, x) : packed.Unpack(DecodeLinear.Forward(proj, x));
        var merged = Attend(Project(q_proj), Project(k_proj), Project(v_proj), ctx, layerIndex);
        if (packed is not null) merged = packed.Pack(merged);
        return DecodeLinear.Forward(o_proj, merged).MoveToOuterDisposeScope();
    }

    /// <summary>RoPE, cache append and scaled dot product for projected [B, Lq, ·] queries, keys and values; returns [B, Lq, heads·head_dim].</summary>
    private Tensor Attend(Tensor qp, Tensor kp, Tensor vp, AttentionContext ctx, int layerIndex)
    {
        long b = qp.shape[0], lq = qp.shape[1];
        var q = qp.view(b, lq, heads, headDim).transpose(1, 2);
        var k = kp.view(b, lq, kvHeads, headDim).transpose(1, 2);
        var v = vp.view(b, lq, kvHeads, headDim).transpose(1, 2);
        q = Rotary.Apply(q, ctx.Cos, ctx.Sin);
        k = Rotary.Apply(k, ctx.Cos, ctx.Sin);
        if (ctx.Cache is not null) (k, v) = ctx.Cache.Append(layerIndex, k, v);

        int groups = heads / kvHeads;
        Tensor output;
        if (lq == 1)
        {
            // one query per row: fold the query heads of a group into the query axis, so the cache is never expanded
            var qg = q.reshape(b, kvHeads, groups, headDim);
            var o = functional.scaled_dot_product_attention(qg, k, v, ctx.Mask);
            output = o.reshape(b, heads, 1, headDim);
        }
        else
        {
            if (groups > 1)
            {
                k = k.repeat_interleave(groups, dim: 1);
                v = v.repeat_interleave(groups, dim: 1);
            }
            output = ctx.Mask is null
                ? functional.scaled_dot_product_attention(q, k, v, is_casual: true)
                : functional.scaled_dot_product_attention(q, k, v, ctx.Mask);
        }
        return output.transpose(1, 2).reshape(b, lq, heads * headDim);
    }
}

/// <summary>Pre-norm decoder layer (identical for trunk and MIMO layers).</summary>
public sealed class Qwen2DecoderLayer : nn.Module
{
    private readonly Qwen2Attention self_attn;
    private readonly Qwen2Mlp mlp;
    private readonly Qwen2RmsNorm input_layernorm;
    private readonly Qwen2RmsNorm post_attention_layernorm;

    public Qwen2DecoderLayer(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(Qwen2DecoderLayer))
    {
        self_attn = new Qwen2Attention(c, device, dtype);
        mlp = new Qwen2Mlp(c, device, dtype);
        input_layernorm = new Qwen2RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        post_attention_layernorm = new Qwen2RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, AttentionContext ctx, int layerIndex)
    {
        using var scope = NewDisposeScope();
        Tensor h;
        using (ctx.Profiler.Span(LlmStage.Attention)) h = x + self_attn.Forward(input_layernorm.forward(x), ctx, layerIndex);
        using (ctx.Profiler.Span(LlmStage.Mlp)) h += mlp.forward(post_attention_layernorm.forward(h));
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>Projects stacked 12.5 Hz Whisper features into the LLM width: Linear → SiLU → Dropout(0) → Linear → LayerNorm.</summary>
public sealed class VqAdaptor : nn.Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public VqAdaptor(KimiAudioConfig c, Device device, ScalarType dtype) : base(nameof(VqAdaptor))
    {
        layers = Sequential(
            Linear(c.AdaptorInputDim, c.HiddenSize, hasBias: true, device: device, dtype: dtype),
            SiLU(),
            Dropout(0.0),
            Linear(c.HiddenSize, c.HiddenSize, hasBias: true, device: device, dtype: dtype),
            LayerNorm(c.HiddenSize, eps: c.RmsNormEps, elementwise_affine: true, device: device, dtype: dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers.forward(x);
}

/// <summary>Rotary position embedding, NeoX half-split convention, inv_freq computed from rope_theta in float32.</summary>
public static class Rotary
{
    public static Tensor InverseFrequencies(double theta, int headDim, Device device)
    {
        using var scope = NewDisposeScope();
        var exponent = arange(0, headDim, 2, dtype: ScalarType.Int64, device: device).to(ScalarType.Float32) / headDim;
        var baseT = full(1, theta, dtype: ScalarType.Float32, device: device);
        return (1.0f / baseT.pow(exponent)).MoveToOuterDisposeScope();
    }

    /// <summary>cos/sin tables [B, 1, L, head_dim] for positions [B, L], built in float32 and cast to <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, Tensor invFreq, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;
        var emb = cat([freqs, freqs], -1).unsqueeze(1);
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
