using System.Text.Json;
using KimiAudio.Model.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>
/// A fixture case folder: <c>case.json</c> plus <c>expected.safetensors</c>. Float tensors are compared with
/// max |actual − expected| ≤ rel · max |expected|; integer tensors exactly.
/// </summary>
public sealed class ParityCase : IDisposable
{
    public string Folder { get; }
    public string Name => System.IO.Path.GetFileName(Folder.TrimEnd('/'));
    public JsonElement Json { get; }
    public TensorSource Expected { get; }
    private readonly JsonDocument doc;

    private ParityCase(string folder, JsonDocument doc, TensorSource expected)
    {
        Folder = folder;
        this.doc = doc;
        Json = doc.RootElement;
        Expected = expected;
    }

    public static ParityCase Open(string folder)
    {
        folder = System.IO.Path.GetFullPath(folder);
        var casePath = System.IO.Path.Combine(folder, "case.json");
        if (!File.Exists(casePath)) throw new FileNotFoundException($"not a parity case folder (no case.json): {folder}");
        var doc = JsonDocument.Parse(File.ReadAllBytes(casePath));
        return new ParityCase(folder, doc, TensorSource.OpenFile(System.IO.Path.Combine(folder, "expected.safetensors")));
    }

    /// <summary>Resolves a path named in case.json (relative to the fixtures root, i.e. the case folder's parent).</summary>
    public string ResolveFromRoot(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Folder, "..", relative));

    public string ResolveInCase(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Folder, relative));

    /// <summary>Compares a float tensor against the expected one with a relative-to-max tolerance.</summary>
    public static ParityLine CompareFloat(string name, Tensor actual, Tensor expected, double relTolerance)
    {
        if (ShapeMismatch(name, actual, expected) is { } mismatch) return mismatch;
        using var scope = NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64, CPU);
        var e = expected.detach().to(ScalarType.Float64, CPU);
        double err = a.NumberOfElements == 0 ? 0 : (a - e).abs().max().item<double>();
        double scale = e.NumberOfElements == 0 ? 0 : e.abs().max().item<double>();
        double limit = relTolerance * scale;
        return new ParityLine(name, err, limit, err <= limit && !double.IsNaN(err));
    }

    /// <summary>Compares an integer tensor exactly.</summary>
    public static ParityLine CompareExact(string name, Tensor actual, Tensor expected)
    {
        if (ShapeMismatch(name, actual, expected) is { } mismatch) return mismatch;
        using var scope = NewDisposeScope();
        var a = actual.detach().to(ScalarType.Int64, CPU);
        var e = expected.detach().to(ScalarType.Int64, CPU);
        long mismatches = a.NumberOfElements == 0 ? 0 : a.ne(e).sum().item<long>();
        double err = a.NumberOfElements == 0 ? 0 : (a - e).abs().max().to(ScalarType.Float64).item<double>();
        return new ParityLine(name, err, 0, mismatches == 0, mismatches == 0 ? null : $"{mismatches} mismatching element(s)");
    }

    private static ParityLine? ShapeMismatch(string name, Tensor actual, Tensor expected) =>
        actual.shape.SequenceEqual(expected.shape) ? null
            : new ParityLine(name, double.PositiveInfinity, 0, false,
                $"shape [{string.Join(",", actual.shape)}] != expected [{string.Join(",", expected.shape)}]");

    public void Dispose()
    {
        Expected.Dispose();
        doc.Dispose();
    }
}
