using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace KimiAudio.Model.Llm;

/// <summary>
/// <c>y = W·x</c> for a bfloat16 row-major W [n, k] and one input row, in float32, with AVX2 + FMA over W's own memory:
/// the one-row product of a bf16 decode step, which must read W once at the machine's memory rate.
/// </summary>
/// <remarks>
/// A bfloat16 is the top half of a float32, so no conversion instruction is needed: 16 weights are read as 8 uint32
/// lanes, <c>lane &lt;&lt; 16</c> is the even weight and <c>lane &amp; 0xFFFF0000</c> the odd one, each multiplied by
/// the matching half of x (split into its even and odd elements once per call). Four rows share each load of x, and
/// while they are summed the next four rows are prefetched (the hardware prefetcher alone, on four interleaved row
/// streams, left a third of the read rate unused). Every product is summed in float32 (as libtorch's bf16 kernels do),
/// so only the order of the float32 sums differs from theirs. 168,448 × 1024 head, two threads, 2-core AVX2 EPYC,
/// medians of 11 calls in five rounds: libtorch's bf16 matrix-vector product 17.2–17.5 GB/s; this kernel without the
/// prefetch 15–20 GB/s, with it 24.2–25.1 GB/s, where a two-thread sum over a float32 tensor of the same bytes reads
/// 25 GB/s.
/// </remarks>
internal static unsafe class Bf16Gemv
{
    /// <summary>Whether this CPU runs the kernel (x86 with AVX2 and FMA); elsewhere callers keep libtorch's kernel.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether the kernel takes a W of this shape and layout (k a multiple of 16, contiguous, addressable as one span).</summary>
    public static bool Accepts(Tensor weight, long k) =>
        IsSupported && weight.dtype == ScalarType.BFloat16 && weight.is_contiguous() && k % 16 == 0 && weight.NumberOfElements * 2 <= int.MaxValue;

    /// <summary>
    /// The float32 x [k] split into even and odd elements ([2, k/2], contiguous), the layout <see cref="Rows"/> reads.
    /// </summary>
    public static Tensor SplitEvenOdd(Tensor x1d) => x1d.to(ScalarType.Float32).reshape(-1, 2).t().contiguous();

    /// <summary>Writes <c>y[r] = Σ W[r, j]·x[j]</c> for rows [start, start + count) of W into y (float32 [n], contiguous).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(Tensor weight, Tensor xEvenOdd, Tensor y, long start, long count)
    {
        long k = weight.shape[1];
        var w = (uint*)Address(weight) + start * (k / 2);
        var xe = (float*)Address(xEvenOdd);
        var xo = xe + k / 2;
        var output = (float*)Address(y) + start;
        long r = 0;
        for (; r + 4 <= count; r += 4) Four(w + r * (k / 2), k / 2, xe, xo, output + r);
        for (; r < count; r++) output[r] = One(w + r * (k / 2), k / 2, xe, xo);
    }

    private static void* Address(Tensor t) => Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    private static readonly Vector256<uint> OddMask = Vector256.Create(0xFFFF0000u);

    /// <summary>Four consecutive rows of <paramref name="half"/> uint32 pairs each, sharing the loads of x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Four(uint* w, long half, float* xe, float* xo, float* y)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        uint* w1 = w + half, w2 = w1 + half, w3 = w2 + half, next = w3 + half;
        for (long j = 0; j < half; j += 8)
        {
            // the next four rows (contiguous after these) into cache, two lines per step: the whole block by the time it starts
            Sse.Prefetch0(next + 4 * j);
            Sse.Prefetch0(next + 4 * j + 16);
            var e = Avx.LoadVector256(xe + j);
            var o = Avx.LoadVector256(xo + j);
            var v = Avx.LoadVector256(w + j);
            a0 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v, 16).AsSingle(), e, a0);
            b0 = Fma.MultiplyAdd(Avx2.And(v, OddMask).AsSingle(), o, b0);
            v = Avx.LoadVector256(w1 + j);
            a1 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v, 16).AsSingle(), e, a1);
            b1 = Fma.MultiplyAdd(Avx2.And(v, OddMask).AsSingle(), o, b1);
            v = Avx.LoadVector256(w2 + j);
            a2 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v, 16).AsSingle(), e, a2);
            b2 = Fma.MultiplyAdd(Avx2.And(v, OddMask).AsSingle(), o, b2);
            v = Avx.LoadVector256(w3 + j);
            a3 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v, 16).AsSingle(), e, a3);
            b3 = Fma.MultiplyAdd(Avx2.And(v, OddMask).AsSingle(), o, b3);
        }
        y[0] = Vector256.Sum(a0 + b0);
        y[1] = Vector256.Sum(a1 + b1);
        y[2] = Vector256.Sum(a2 + b2);
        y[3] = Vector256.Sum(a3 + b3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float One(uint* w, long half, float* xe, float* xo)
    {
        Vector256<float> a = default, b = default;
        for (long j = 0; j < half; j += 8)
        {
            var v = Avx.LoadVector256(w + j);
            a = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v, 16).AsSingle(), Avx.LoadVector256(xe + j), a);
            b = Fma.MultiplyAdd(Avx2.And(v, OddMask).AsSingle(), Avx.LoadVector256(xo + j), b);
        }
        return Vector256.Sum(a + b);
    }
}
