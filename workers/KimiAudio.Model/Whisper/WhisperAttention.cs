using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Whisper;

/// <summary>Whisper multi-head self-attention: q/v/out projections with bias, k without; scale head_dim^-0.5.</summary>
public sealed class WhisperAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, out_proj;
    private readonly int heads, headDim;

    public WhisperAttention(int dModel, int heads) : base(nameof(WhisperAttention))
    {
        this.heads = heads;
        headDim = dModel / heads;
        q_proj = Linear(dModel, dModel, hasBias: true);
        k_proj = Linear(dModel, dModel, hasBias: false);
        v_proj = Linear(dModel, dModel, hasBias: true);
        out_proj = Linear(dModel, dModel, hasBias: true);
        RegisterComponents();
    }

    /// <param name="x">[B, T, d].</param>
    /// <param name="allowed">optional boolean mask [B, 1, T, T] (true = key may be attended); null = full attention.</param>
    public override Tensor forward(Tensor x, Tensor? allowed)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.call(x).view(b, t, heads, headDim).transpose(1, 2);
        var k = k_proj.call(x).view(b, t, heads, headDim).transpose(1, 2);
        var v = v_proj.call(x).view(b, t, heads, headDim).transpose(1, 2);
        var o = functional.scaled_dot_product_attention(q, k, v, attn_mask: allowed);
        return out_proj.call(o.transpose(1, 2).reshape(b, t, heads * headDim)).MoveToOuterDisposeScope();
    }
}
