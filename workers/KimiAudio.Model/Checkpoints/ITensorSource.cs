using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// Named checkpoint tensors that can be listed and shape-checked without reading their data, then read one at a time.
/// Implemented by safetensors checkpoints (<see cref="TensorSource"/>) and torch zip pickles (<see cref="PickleTensorSource"/>).
/// </summary>
public interface ITensorSource
{
    IReadOnlyCollection<string> Keys { get; }

    bool Contains(string key);

    /// <summary>The stored shape of <paramref name="key"/>, without reading its data.</summary>
    long[] ShapeOf(string key);

    /// <summary>Reads one tensor onto the CPU in its stored dtype; the caller owns (disposes) it.</summary>
    Tensor Read(string key);
}
