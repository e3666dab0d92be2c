using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer.FlowMatching;

/// <summary>Per-block key/value cache of the streaming DiT: keys after RoPE, [B, frames, heads, head_dim].</summary>
public sealed record KvPair(Tensor K, Tensor V);

/// <summary>Sinusoidal embedding of the integer flow time: Linear(SiLU(Linear([cos | sin]))).</summary>
public sealed class TimestepEmbedder : nn.Module
{
    public const int FrequencySize = 256;
    private readonly Sequential mlp;

    public TimestepEmbedder(int hidden) : base(nameof(TimestepEmbedder))
    {
        mlp = nn.Sequential(("0", nn.Linear(FrequencySize, hidden)), ("1", nn.SiLU()), ("2", nn.Linear(hidden, hidden)));
        RegisterComponents();
    }

    /// <summary>[cos(t·ω_k) | sin(t·ω_k)], ω_k = exp(−ln(10⁴)·k/128), computed in float32 (reference order: cos first).</summary>
    public static Tensor Frequencies(Tensor tInt)
    {
        using var scope = NewDisposeScope();
        int half = FrequencySize / 2;
        var freqs = exp(arange(0, half, ScalarType.Float32, tInt.device).mul(-Math.Log(10000.0)).div(half));
        var args = tInt.to(ScalarType.Float32).unsqueeze(1).mul(freqs.unsqueeze(0));
        return cat([cos(args), sin(args)], 1).MoveToOuterDisposeScope();
    }

    public Tensor forward(Tensor tInt, ScalarType dtype)
    {
        using var f = Frequencies(tInt);
        using var fd = f.to(dtype);
        return mlp.call(fd);
    }
}

/// <summary>Multi-head attention of a DiT block; the chunk's queries see the cached keys and all keys of the chunk (no causal mask).</summary>
public sealed class DiTAttention : nn.Module
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int heads;
    private readonly int headDim;

    public DiTAttention(int hidden, int heads) : base(nameof(DiTAttention))
    {
        this.heads = heads;
        headDim = hidden / heads;
        qkv = nn.Linear(hidden, 3 * hidden);
        proj = nn.Linear(hidden, hidden);
        RegisterComponents();
    }

    /// <param name="x">[B, N, H]</param>
    /// <param name="rope">cos/sin [B, N, 1, head_dim/2] or null</param>
    /// <param name="cache">cached K/V of earlier chunks or null</param>
    /// <param name="mask">additive key mask [B, 1, 1, keys] or null</param>
    /// <param name="current">receives this chunk's own K (after RoPE) and V when not null; the caller owns (disposes) them</param>
    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin)? rope, KvPair? cache, Tensor? mask, List<KvPair>? current)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1];
        var parts = qkv.call(x).view(b, n, 3, heads, headDim).unbind(2);
        Tensor q = parts[0], k = parts[1], v = parts[2];
        if (rope is { } r)
        {
            q = Rope.Apply(q, r.Cos, r.Sin);
            k = Rope.Apply(k, r.Cos, r.Sin);
        }
        if (current is not null)
            current.Add(new KvPair(k.contiguous().DetachFromDisposeScope(), v.contiguous().DetachFromDisposeScope()));
        var kAll = cache is null ? k : cat([cache.K, k], 1);
        var vAll = cache is null ? v : cat([cache.V, v], 1);
        var qh = q.transpose(1, 2);
        var kh = kAll.transpose(1, 2);
        var vh = vAll.transpose(1, 2);
        var scores = matmul(qh, kh.transpose(-2, -1)).mul(1.0 / Math.Sqrt(headDim));
        if (mask is not null) scores = scores.add(mask);
        var o = matmul(scores.softmax(-1), vh).transpose(1, 2).reshape(b, n, heads * headDim);
        return proj.call(o).MoveToOuterDisposeScope();
    }
}

/// <summary>fc1 → tanh-approximate GELU → fc2 (timm Mlp as the reference builds it for ffn_type vanilla_mlp).</summary>
public sealed class DiTMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public DiTMlp(int hidden, int inner) : base(nameof(DiTMlp))
    {
        fc1 = nn.Linear(hidden, inner);
        fc2 = nn.Linear(inner, hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = fc1.call(x);
        using var g = nn.functional.gelu(h, approximate: GELU.Approximate.tanh);
        return fc2.call(g);
    }
}

/// <summary>adaLN-Zero DiT block: h += g_a·Attn(mod(LN(h))); h += g_m·MLP(mod(LN(h))).</summary>
public sealed class DiTBlock : nn.Module
{
    private readonly DiTAttention attn;
    private readonly DiTMlp mlp;
    private readonly Sequential adaLN_modulation;
    private readonly long hidden;

    public DiTBlock(int hidden, int heads, int mlpHidden) : base(nameof(DiTBlock))
    {
        this.hidden = hidden;
        attn = new DiTAttention(hidden, heads);
        mlp = new DiTMlp(hidden, mlpHidden);
        adaLN_modulation = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(hidden, 6 * hidden)));
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor c, (Tensor Cos, Tensor Sin)? rope, KvPair? cache, Tensor? mask, List<KvPair>? current)
    {
        using var scope = NewDisposeScope();
        var m = adaLN_modulation.call(c).chunk(6, 2);
        var a = Modulate(LayerNorm(x), m[0], m[1]);
        x = x.add(m[2].mul(attn.Forward(a, rope, cache, mask, current)));
        var f = Modulate(LayerNorm(x), m[3], m[4]);
        x = x.add(m[5].mul(mlp.call(f)));
        return x.MoveToOuterDisposeScope();
    }

    internal Tensor LayerNorm(Tensor x) => nn.functional.layer_norm(x, [hidden], null, null, 1e-6);

    internal static Tensor Modulate(Tensor x, Tensor shift, Tensor scale) => x.mul(scale.add(1)).add(shift);
}

/// <summary>Final adaLN layer: Linear(H, out)(LN(h)·(1+scale)+shift).</summary>
public sealed class DiTFinalLayer : nn.Module
{
    private readonly Linear linear;
    private readonly Sequential adaLN_modulation;
    private readonly long hidden;

    public DiTFinalLayer(int hidden, int outSize) : base(nameof(DiTFinalLayer))
    {
        this.hidden = hidden;
        linear = nn.Linear(hidden, outSize);
        adaLN_modulation = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(hidden, 2 * hidden)));
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor c)
    {
        using var scope = NewDisposeScope();
        var m = adaLN_modulation.call(c).chunk(2, 2);
        var h = DiTBlock.Modulate(nn.functional.layer_norm(x, [hidden], null, null, 1e-6), m[0], m[1]);
        return linear.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>The state-dict placeholder of fairseq's sinusoidal position module: one dummy buffer, values computed.</summary>
public sealed class SinusoidalPositionBuffer : nn.Module
{
    public SinusoidalPositionBuffer() : base(nameof(SinusoidalPositionBuffer))
    {
        register_buffer("_float_tensor", zeros(1));
    }
}

/// <summary>Position tables: interleaved-pair RoPE and fairseq sinusoids ([sin | cos], row 0 zero).</summary>
public static class Rope
{
    /// <summary>cos/sin tables [rows, dim/2] of θ_i = pos / base^(2i/dim), pos scaled by 1/interpolation (float32, as the reference).</summary>
    public static (Tensor Cos, Tensor Sin) Table(int dim, int rows, double ropeBase, double interpolation)
    {
        using var scope = NewDisposeScope();
        var inv = pow(ropeBase, arange(0, dim, 2, ScalarType.Float32).div(dim)).reciprocal();
        var t = arange(0, rows, ScalarType.Float32);
        if (interpolation != 1.0) t = t.mul(1.0 / interpolation);
        var freqs = outer(t, inv);
        return (cos(freqs).MoveToOuterDisposeScope(), sin(freqs).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates consecutive pairs (x_{2i}, x_{2i+1}) of [B, N, heads, D] by cos/sin [B, N, 1, D/2], in float32.</summary>
    public static Tensor Apply(Tensor x, Tensor cosT, Tensor sinT)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var xf = x.to(ScalarType.Float32).reshape([.. shape[..^1], shape[^1] / 2, 2]);
        var x0 = xf.select(-1, 0);
        var x1 = xf.select(-1, 1);
        var r0 = x0.mul(cosT).sub(x1.mul(sinT));
        var r1 = x0.mul(sinT).add(x1.mul(cosT));
        return stack([r0, r1], -1).reshape(shape).to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>fairseq sinusoid rows [rows.Length, dim]: [sin(r·f_i) | cos(r·f_i)], f_i = exp(−i·ln(10⁴)/(dim/2 − 1)); row 0 all zero.</summary>
    public static Tensor Sinusoids(long[] rows, int dim, Device device)
    {
        using var scope = NewDisposeScope();
        int half = dim / 2;
        var f = exp(arange(0, half, ScalarType.Float32).mul(-(Math.Log(10000.0) / (half - 1))));
        var r = tensor(rows.Select(v => (float)v).ToArray());
        var a = r.unsqueeze(1).mul(f.unsqueeze(0));
        var e = cat([sin(a), cos(a)], 1);
        if (dim % 2 == 1) e = cat([e, zeros(rows.Length, 1)], 1);
        var zeroRow = tensor(rows.Select(v => v == 0 ? 0f : 1f).ToArray()).unsqueeze(1);
        return e.mul(zeroRow).to(device).MoveToOuterDisposeScope();
    }
}
