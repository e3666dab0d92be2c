using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KimiAudio.Model.Llm;

/// <summary>
/// <c>y = x·Wᵀ + b</c> on CPU for the few-row inputs of decode steps, shaped so that the weight is streamed once at the
/// rate the machine can read it, and for bfloat16 inputs of any length (prefills too), which libtorch's CPU kernel
/// runs far below float32.
/// </summary>
/// <remarks>
/// A decode step multiplies B ≤ 64 rows by every weight matrix. Measured defects of libtorch's CPU kernels at these
/// shapes, and what replaces them (2-core AMD EPYC, 168,448 × 1024 head, medians of 9 calls, `bench/` figures in
/// docs/deployment.md §8.0):
/// <list type="bullet">
/// <item>float32, one row: MKL's matrix-vector product runs on one core whatever the thread count (40–47 ms with 1 or
/// 2 threads, 15–17 GB/s, where a sum over the same tensor reads 26 GB/s with two). W's rows are split into one
/// contiguous share per torch thread, each share on its own thread: 26–33 ms (21–26 GB/s), bit-identical outputs (each
/// output is still one row's dot product by the same kernel).</item>
/// <item>float32, 2–64 rows: <c>linear(x, W)</c> treats Wᵀ as the large right operand (190 ms at B = 16); <c>W·xᵀ</c>
/// makes W the row-major left operand (118–143 ms), and the same in 2048-row blocks (8 MiB of weight per call) 64–83 ms
/// (MKL threads each block itself; a share per thread of it lost inside the model: each share's MKL call starts its own
/// OpenMP team, four busy threads on two cores). <see cref="Fp32Gemm"/>, a managed AVX2 kernel in one share per thread,
/// 52–70 ms, and each row's outputs are the same whatever the batch; the blocked MKL path stays where it does not run.</item>
/// <item>bfloat16, 2 rows or more: on this AVX2 CPU (no native bf16) libtorch's bf16 GEMM reaches 1 GB/s (305–336 ms
/// at B = 16; a 400-token prefill of the mid-size bench model 65–79 tokens/s). Blocks of W (1024 rows in decode steps,
/// 4096 in prefills) are upcast to float32 (exact) and multiplied in float32: 92 ms at B = 16, prefill 300–400
/// tokens/s. The products are summed in float32 either way (the bf16 kernel accumulates in float32 too) and the result
/// is rounded to bfloat16 once, after the bias, so only the order of the float32 sums differs.</item>
/// <item>bfloat16, one row: libtorch's matrix-vector kernel already uses every thread but reads 16–18 GB/s (a share per
/// thread of it was slower); <see cref="Bf16Gemv"/>, a managed AVX2 kernel that prefetches the rows ahead, reads
/// 24–25 GB/s in one share per thread (where no AVX2 + FMA, libtorch's kernel stays).</item>
/// </list>
/// float32 weights under <see cref="MinSplitElements"/>, float32 prefills (MKL's GEMM is
/// efficient there), every non-CPU device, and calls with autograd recording take the plain kernels.
/// </remarks>
internal static class DecodeLinear
{
    /// <summary>Most rows that take the float32 decode paths (bfloat16 takes its upcast path at any row count from 2).</summary>
    public const long MaxRows = 64;
    /// <summary>Rows of W per float32 call (2048 × hidden 1024 × 4 bytes = 8 MiB).</summary>
    public const long Fp32Block = 2048;
    /// <summary>Rows of W upcast per bfloat16 call (1024 × hidden 1024 × 4 bytes = 4 MiB of float32 scratch).</summary>
    public const long Bf16Block = 1024;
    /// <summary>Rows of W upcast per bfloat16 call of a prefill (more than <see cref="MaxRows"/> rows): 4096 × hidden 3584 × 4 bytes = 56 MiB of scratch on the real model.</summary>
    public const long Bf16PrefillBlock = 4096;
    /// <summary>Smallest float32 weight (elements) split into shares or blocks: below it a one-row product stays plain and more rows take one call.</summary>
    public const long MinSplitElements = 1L << 20;

    public static Tensor Forward(Linear layer, Tensor x) => Forward(x, layer.weight!, layer.bias);

    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        long k = x.shape[^1];
        long rows = x.NumberOfElements / Math.Max(1, k);
        if (rows < 1 || x.device_type != TorchSharp.DeviceType.CPU || is_grad_enabled())
            return nn.functional.linear(x, weight, bias);
        // a small weight's one-row product: splitting it costs more than it saves
        bool small = weight.NumberOfElements < MinSplitElements;
        if (x.dtype == ScalarType.BFloat16 && rows == 1 && Bf16Gemv.Accepts(weight, k)) return Bf16OneRow(x, weight, bias, small);
        bool fp32 = x.dtype == ScalarType.Float32 && rows <= MaxRows;
        bool bf16 = x.dtype == ScalarType.BFloat16 && rows >= 2;
        if (!fp32 && !bf16) return nn.functional.linear(x, weight, bias);
        if (fp32 && rows == 1 && small) return nn.functional.linear(x, weight, bias);

        using var scope = NewDisposeScope();
        long n = weight.shape[0];
        var x2 = x.reshape(rows, k).contiguous();
        long[] shape = [.. x.shape[..^1], n];
        if (fp32 && rows >= 2 && !small && Fp32Gemm.Accepts(weight, x2, k))
        {
            var yr = empty([rows, n], dtype: ScalarType.Float32, device: x.device);
            InShares(n, Math.Max(1, get_num_threads()), n, (start, len) => Fp32Gemm.Rows(weight, x2, yr, start, len));
            if (bias is not null) yr.add_(bias);
            return yr.reshape(shape).MoveToOuterDisposeScope();
        }
        // yᵀ [n, rows]: each block writes its own contiguous rows (float32 for bf16 inputs: rounded once, after the bias)
        var yt = empty([n, rows], dtype: ScalarType.Float32, device: x.device);
        if (fp32)
        {
            var xt = x2.t();
            InShares(n, rows == 1 ? Math.Max(1, get_num_threads()) : 1, small ? n : Fp32Block, (start, len) => yt.narrow(0, start, len).copy_(mm(weight.narrow(0, start, len), xt)));
        }
        else
        {
            var xt = x2.to(ScalarType.Float32).t();
            InShares(n, 1, rows <= MaxRows ? Bf16Block : Bf16PrefillBlock, (start, len) => yt.narrow(0, start, len).copy_(mm(weight.narrow(0, start, len).to(ScalarType.Float32), xt)));
        }
        var y = yt.t();
        if (bias is not null) y = y + bias.to(ScalarType.Float32);
        y = y.to(x.dtype);
        return y.contiguous().reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>A bfloat16 row through <see cref="Bf16Gemv"/>, W's rows split in one share per torch thread; rounded to bf16 once, after the bias.</summary>
    private static Tensor Bf16OneRow(Tensor x, Tensor weight, Tensor? bias, bool small)
    {
        using var scope = NewDisposeScope();
        long n = weight.shape[0];
        var xs = Bf16Gemv.SplitEvenOdd(x.reshape(-1));
        var y = empty([n], dtype: ScalarType.Float32, device: x.device);
        InShares(n, small ? 1 : Math.Max(1, get_num_threads()), n, (start, len) => Bf16Gemv.Rows(weight, xs, y, start, len));
        if (bias is not null) y = y + bias.to(ScalarType.Float32);
        long[] shape = [.. x.shape[..^1], n];
        return y.to(x.dtype).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs <paramref name="block"/> over [0, n) in blocks of at most <paramref name="blockRows"/>, split into
    /// <paramref name="shares"/> contiguous shares: the first on the calling thread, each other one on a pool thread in
    /// the caller's inference mode (a thread-local libtorch state). A share no pool thread has started by the time the
    /// caller is done with its own is taken back and run by the caller, so a busy pool delays nothing.
    /// </summary>
    private static void InShares(long n, int shares, long blockRows, Action<long, long> block)
    {
        long per = (n + shares - 1) / shares;
        bool inference = is_inference_mode_enabled();
        var claimed = new int[shares];
        bool Claim(int s) => Interlocked.Exchange(ref claimed[s], 1) == 0;
        void Run(int s)
        {
            long to = Math.Min(n, (s + 1) * per);
            for (long start = s * per; start < to; start += blockRows)
            {
                using var scope = NewDisposeScope();
                block(start, Math.Min(blockRows, to - start));
            }
        }
        var others = new Task[shares - 1];
        for (int s = 1; s < shares; s++)
        {
            int share = s;
            others[s - 1] = Task.Run(() =>
            {
                if (!Claim(share)) return;
                using IDisposable mode = inference ? inference_mode() : no_grad();
                Run(share);
            });
        }
        try
        {
            Claim(0);
            Run(0);
            for (int s = 1; s < shares; s++)
                if (Claim(s)) Run(s);
        }
        finally
        {
            Task.WaitAll(others);
        }
    }
}
