using KimiAudio.Model.Checkpoints;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer.Vocoder;

/// <summary>
/// Presents old-style weight-norm pairs (<c>X.weight_g</c>, <c>X.weight_v</c>) as one folded <c>X.weight</c> =
/// g·V/‖V‖, the norm taken over every dim but 0 (for ConvTranspose1d, whose weight is [in, out, k], dim 0 is the
/// input channels — the same rule). Other keys pass through. Folded on read, one tensor at a time.
/// </summary>
public sealed class WeightNormFoldingSource : ITensorSource
{
    private readonly ITensorSource inner;
    private readonly HashSet<string> keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> folded = new(StringComparer.Ordinal);

    public WeightNormFoldingSource(ITensorSource inner)
    {
        this.inner = inner;
        foreach (var k in inner.Keys)
        {
            if (k.EndsWith(".weight_g", StringComparison.Ordinal) || k.EndsWith(".weight_v", StringComparison.Ordinal))
            {
                var stem = k[..^2];
                if (!inner.Contains(stem + "_g") || !inner.Contains(stem + "_v"))
                    throw new CheckpointException($"weight-norm tensor '{k}' has no partner ('{stem}_g' and '{stem}_v' must both exist)");
                if (folded.Add(stem)) keys.Add(stem);
            }
            else keys.Add(k);
        }
    }

    public IReadOnlyCollection<string> Keys => keys;

    public bool Contains(string key) => keys.Contains(key);

    public long[] ShapeOf(string key) => folded.Contains(key) ? inner.ShapeOf(key + "_v") : inner.ShapeOf(key);

    public Tensor Read(string key)
    {
        if (!folded.Contains(key)) return inner.Read(key);
        using var scope = NewDisposeScope();
        var g = inner.Read(key + "_g").to(ScalarType.Float32);
        var v = inner.Read(key + "_v").to(ScalarType.Float32);
        long[] gShape = g.shape, vShape = v.shape;
        if (gShape.Length != vShape.Length || gShape[0] != vShape[0] || gShape.Skip(1).Any(d => d != 1))
            throw new CheckpointException($"'{key}_g' has shape [{string.Join(", ", gShape)}], expected [{vShape[0]}{string.Concat(Enumerable.Repeat(", 1", vShape.Length - 1))}] for '{key}_v' [{string.Join(", ", vShape)}]");
        var dims = Enumerable.Range(1, vShape.Length - 1).Select(d => (long)d).ToArray();
        var norm = v.pow(2).sum(dims, keepdim: true).sqrt();
        return v.mul(g.div(norm)).MoveToOuterDisposeScope();
    }
}
