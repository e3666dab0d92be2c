using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KimiAudio.Model.Llm;

/// <summary>
/// <c>y = x·Wᵀ + b</c> for the few-row inputs of decode steps on CPU, in the orientation that streams the weight once.
/// </summary>
/// <remarks>
/// A decode step multiplies B ≤ 64 rows by every weight matrix. Written as <c>linear(x, W)</c> the BLAS packs the large
/// operand Wᵀ into panels on every call, which for a 168,448 × hidden head means reading the weight and writing a
/// packed copy of it (measured on the 2-core AMD EPYC dev box, float32, B = 16, one thread: 1.72 s against 0.73 s for
/// <c>(W·xᵀ)ᵀ</c>, identical values). <c>(W·xᵀ)ᵀ</c> makes W the row-major left operand, read once in cache-sized blocks.
/// In bfloat16 libtorch's CPU kernel gains instead from splitting the head into row blocks (the output of one block stays
/// in cache), bit-exact as well. One row (B = 1) stays a matrix-vector product, which already streams the weight; so do
/// prefills and every CUDA/other device, where the vendor BLAS picks its own orientation.
/// </remarks>
public static class DecodeLinear
{
    /// <summary>Most rows that take the decode orientation.</summary>
    public const long MaxRows = 64;
    /// <summary>Rows of W per block for the bfloat16 split (4096 × hidden 1024 × 2 bytes = 8 MiB: within a shared L3).</summary>
    public const long Bf16Block = 4096;

    public static Tensor Forward(Linear layer, Tensor x) => Forward(x, layer.weight!, layer.bias);

    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        long k = x.shape[^1];
        long rows = x.NumberOfElements / Math.Max(1, k);
        if (rows < 2 || rows > MaxRows || x.device_type != TorchSharp.DeviceType.CPU) return nn.functional.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        long n = weight.shape[0];
        var x2 = x.reshape(rows, k);
        Tensor y;
        if (x.dtype == ScalarType.Float32)
        {
            y = mm(weight, x2.t()).t();
            if (bias is not null) y = y + bias;
        }
        else if (x.dtype == ScalarType.BFloat16 && n > 2 * Bf16Block)
        {
            var parts = new List<Tensor>();
            for (long i = 0; i < n; i += Bf16Block)
            {
                long len = Math.Min(Bf16Block, n - i);
                parts.Add(nn.functional.linear(x2, weight.narrow(0, i, len), bias?.narrow(0, i, len)));
            }
            y = cat(parts, 1);
        }
        else
        {
            return nn.functional.linear(x, weight, bias).MoveToOuterDisposeScope();
        }
        long[] shape = [.. x.shape[..^1], n];
        return y.contiguous().reshape(shape).MoveToOuterDisposeScope();
    }
}
