using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Whisper;

/// <summary>
/// Pre-LN Whisper encoder layer (also the GLM-4-Voice tokenizer's layer): x += out_proj(MHA(LN1(x))); x += fc2(GELU(fc1(LN2(x)))).
/// LayerNorms are computed in float32 and cast back to the layer's dtype.
/// </summary>
public sealed class WhisperEncoderLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly WhisperAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly Linear fc1, fc2;
    private readonly LayerNorm final_layer_norm;

    public WhisperEncoderLayer(int dModel, int heads, int ffnDim) : base(nameof(WhisperEncoderLayer))
    {
        self_attn = new WhisperAttention(dModel, heads);
        self_attn_layer_norm = LayerNorm(dModel, eps: 1e-5);
        fc1 = Linear(dModel, ffnDim, hasBias: true);
        fc2 = Linear(ffnDim, dModel, hasBias: true);
        final_layer_norm = LayerNorm(dModel, eps: 1e-5);
        RegisterComponents();
    }

    /// <param name="x">[B, T, d].</param>
    /// <param name="allowed">optional boolean attention mask [B, 1, T, T]; null = bidirectional, unmasked.</param>
    public override Tensor forward(Tensor x, Tensor? allowed)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.call(Norms.LayerNormFloat32(self_attn_layer_norm, x), allowed);
        var f = fc2.call(functional.gelu(fc1.call(Norms.LayerNormFloat32(final_layer_norm, h))));
        return (h + f).MoveToOuterDisposeScope();
    }
}
