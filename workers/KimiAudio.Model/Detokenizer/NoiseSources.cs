using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer;

/// <summary>Supplies the initial Gaussian noise x₀ of every detokenizer chunk (the reference draws torch.randn per chunk).</summary>
public interface INoiseSource
{
    /// <summary>Noise for chunk <paramref name="chunk"/>: CPU float32 [frames, melBins]; the caller disposes it.</summary>
    Tensor Next(int chunk, int frames, int melBins);
}

/// <summary>Seeded standard-normal noise: the same seed gives the same noise, so runs repeat exactly.</summary>
public sealed class SeededNoiseSource(long seed) : INoiseSource, IDisposable
{
    private readonly Generator generator = new Generator((ulong)seed, CPU);

    public Tensor Next(int chunk, int frames, int melBins) =>
        randn([frames, melBins], ScalarType.Float32, CPU, requires_grad: false, generator: generator);

    public void Dispose() => generator.Dispose();
}

/// <summary>Noise taken from named tensors (e.g. a parity fixture's <c>noise_chunk_&lt;c&gt;</c>), checked for shape.</summary>
public sealed class TensorNoiseSource(Func<int, Tensor> chunkNoise) : INoiseSource
{
    public Tensor Next(int chunk, int frames, int melBins)
    {
        var t = chunkNoise(chunk);
        if (t.ndim != 2 || t.shape[0] != frames || t.shape[1] != melBins)
        {
            var shape = string.Join(", ", t.shape);
            t.Dispose();
            throw new InvalidOperationException($"noise for chunk {chunk} has shape [{shape}], the chunk needs [{frames}, {melBins}]");
        }
        return t.to(ScalarType.Float32);
    }
}
