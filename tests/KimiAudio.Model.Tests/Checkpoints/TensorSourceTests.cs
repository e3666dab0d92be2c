using KimiAudio.Model.Checkpoints;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Checkpoints;

public class TensorSourceTests
{
    [Fact]
    public void Written_safetensors_read_back_with_same_keys_shapes_and_values()
    {
        var dir = Directory.CreateTempSubdirectory("st-");
        var path = Path.Combine(dir.FullName, "a.safetensors");
        using var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var b = tensor(new long[] { 7, -1 });
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["x.weight"] = a, ["y"] = b });

        using var src = TensorSource.OpenFile(path);
        Assert.Equal(new[] { "x.weight", "y" }, src.Keys.OrderBy(k => k));
        using var ra = src.Read("x.weight");
        Assert.Equal(new long[] { 3, 4 }, ra.shape);
        Assert.True(ra.eq(a).all().item<bool>());
        using var rb = src.Read("y");
        Assert.Equal(ScalarType.Int64, rb.dtype);
        Assert.True(rb.eq(b).all().item<bool>());
    }

    [Fact]
    public void Loader_names_the_key_and_both_shapes_on_mismatch()
    {
        var dir = Directory.CreateTempSubdirectory("st-");
        var path = Path.Combine(dir.FullName, "a.safetensors");
        using var w = zeros(3, 5);
        using var bias = zeros(3);
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["lin.weight"] = w, ["lin.bias"] = bias });
        using var src = TensorSource.OpenFile(path);
        var module = nn.Linear(4, 3);
        var ex = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(module, src, "lin."));
        Assert.Contains("lin.weight", ex.Message);
        Assert.Contains("[3, 5]", ex.Message);
        Assert.Contains("[3, 4]", ex.Message);
    }
}
