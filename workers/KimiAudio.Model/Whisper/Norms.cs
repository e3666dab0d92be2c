using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Whisper;

/// <summary>Normalisation helpers shared by the Whisper and GLM encoders.</summary>
public static class Norms
{
    /// <summary>LayerNorm over the last dimension computed in float32 (input and affine upcast), result in the input dtype.</summary>
    public static Tensor LayerNormFloat32(LayerNorm norm, Tensor x, double eps = 1e-5)
    {
        if (x.dtype == ScalarType.Float32) return norm.call(x);
        using var scope = NewDisposeScope();
        var w = norm.weight!.to(ScalarType.Float32);
        var b = norm.bias!.to(ScalarType.Float32);
        var y = functional.layer_norm(x.to(ScalarType.Float32), [x.shape[^1]], w, b, eps);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
