using KimiAudio.Model.Llm;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

/// <summary>
/// The CPU decode kernels (row shares on threads, blocked W·xᵀ, bf16 blocks upcast to float32) against plain
/// <c>linear</c> and a float64 reference, on a weight large enough to take them (5000 × 300: two uneven shares, a
/// partial last block) with a bias.
/// </summary>
[Collection("Torch")]
public class DecodeLinearTests
{
    private const long N = 5000, K = 300;

    private static (Tensor W, Tensor B) Weights(ScalarType dtype)
    {
        var g = new Generator(11, CPU);
        return (randn([N, K], generator: g).to(dtype), randn([N], generator: g).to(dtype));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(3, true)]
    [InlineData(16, true)]
    [InlineData(1, false)]
    [InlineData(16, false)]
    public void Float32_decode_rows_equal_plain_linear(int rows, bool inference)
    {
        Assert.True(N * K >= DecodeLinear.MinSplitElements && N > 2 * DecodeLinear.Fp32Block);
        var (w, b) = Weights(ScalarType.Float32);
        var x = randn([rows, 1, K], generator: new Generator((ulong)rows, CPU));
        using IDisposable mode = inference ? inference_mode() : no_grad();
        var y = DecodeLinear.Forward(x, w, b);
        Assert.Equal(new long[] { rows, 1, N }, y.shape);
        Assert.Equal(ScalarType.Float32, y.dtype);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64));
        // every column of every share and block (the output starts uninitialised) against the float64 product
        double err = (y.to(ScalarType.Float64) - want).abs().max().item<double>();
        Assert.True(err < 1e-4, $"max |decode - float64| = {err}");
        double vsLinear = (y - nn.functional.linear(x, w, b)).abs().max().item<float>();
        Assert.True(vsLinear < 1e-4, $"max |decode - linear| = {vsLinear}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    [InlineData(16)]
    public void Float32_few_rows_give_each_row_what_it_gets_in_any_batch(int rows)
    {
        // 5001 × 320: two shares, blocks of 64 rows with an odd last one, four-row groups and a remainder of X rows
        const long n = 5001, k = 320;
        var g = new Generator(23, CPU);
        var w = randn([n, k], generator: g);
        var b = randn([n], generator: g);
        var x = randn([rows, 1, k], generator: g);
        Assert.Equal(Avx2Fma, Fp32Gemm.Accepts(w, x.reshape(rows, k), k));
        using var mode = inference_mode();
        var y = DecodeLinear.Forward(x, w, b);
        Assert.Equal(new long[] { rows, 1, n }, y.shape);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64));
        double err = (y.to(ScalarType.Float64) - want).abs().max().item<double>();
        Assert.True(err < 1e-4, $"max |decode - float64| = {err}");
        if (!Avx2Fma) return;
        // the first two rows alone, and the last row inside a batch of 16: the same bits as in this batch
        var pair = DecodeLinear.Forward(x.narrow(0, 0, 2), w, b);
        Assert.True(pair.eq(y.narrow(0, 0, 2)).all().item<bool>(), "rows 0-1 alone differ from the same rows in the batch");
        var sixteen = cat([randn([16 - 1, 1, k], generator: g), x.narrow(0, rows - 1, 1)], 0);
        Assert.True(DecodeLinear.Forward(sixteen, w, b)[15].eq(y[rows - 1]).all().item<bool>(), "the last row in a batch of 16 differs");
    }

    private static bool Avx2Fma => System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void Bfloat16_decode_rows_round_the_float32_sum_once(int rows)
    {
        var (w, b) = Weights(ScalarType.BFloat16);
        var x = randn([rows, K], generator: new Generator(5, CPU)).to(ScalarType.BFloat16);
        using var mode = inference_mode();
        var y = DecodeLinear.Forward(x, w, b);
        Assert.Equal(new long[] { rows, N }, y.shape);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        AssertRoundedOnce(y, x, w, b);
    }

    /// <summary>
    /// One bf16 rounding of an exact sum: within half a bf16 ulp (2^-8 relative) of the float64 product plus float32
    /// summation noise, and within a bf16 ulp of libtorch's own bf16 kernel.
    /// </summary>
    private static void AssertRoundedOnce(Tensor y, Tensor x, Tensor w, Tensor? b)
    {
        var want = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b?.to(ScalarType.Float64));
        double worst = ((y.to(ScalarType.Float64) - want).abs() / (want.abs() + 1e-3)).max().item<double>();
        Assert.True(worst <= 1.0 / 256 + 1e-5, $"worst relative error {worst}");
        var plain = nn.functional.linear(x, w, b).to(ScalarType.Float64);
        double ulps = ((y.to(ScalarType.Float64) - plain).abs() / (plain.abs() * (1.0 / 128) + 1e-2)).max().item<double>();
        Assert.True(ulps <= 1.0, $"decode vs bf16 linear: {ulps} ulp");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bfloat16_one_row_sums_every_column_of_W_in_float32_and_rounds_once(bool inference)
    {
        // 5001 rows: two shares of 2501 and 2500 rows (four-row groups and a single-row tail); k = 320, a multiple of 16
        const long n = 5001, k = 320;
        var g = new Generator(17, CPU);
        var w = randn([n, k], generator: g).to(ScalarType.BFloat16);
        var b = randn([n], generator: g).to(ScalarType.BFloat16);
        var x = randn([1, 1, k], generator: g).to(ScalarType.BFloat16);
        Assert.Equal(Bf16Gemv.IsSupported, Bf16Gemv.Accepts(w, k));
        using IDisposable mode = inference ? inference_mode() : no_grad();
        var y = DecodeLinear.Forward(x, w, b);
        Assert.Equal(new long[] { 1, 1, n }, y.shape);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        AssertRoundedOnce(y, x, w, b);
        // without a bias, and on a narrowed (offset) weight: the kernel reads from the view's first element
        var rowsOf = w.narrow(0, 7, 1000);
        AssertRoundedOnce(DecodeLinear.Forward(x, rowsOf, null), x, rowsOf, null);
    }

    [Fact]
    public void Small_weights_and_long_inputs_take_the_plain_kernel_with_the_same_values()
    {
        var g = new Generator(3, CPU);
        var w = randn([64, 32], generator: g);
        var x = randn([2, 100, 32], generator: g); // 200 rows: a prefill
        using var mode = inference_mode();
        Assert.True(DecodeLinear.Forward(x, w, null).eq(nn.functional.linear(x, w)).all().item<bool>());
        var x1 = x[0, 0].reshape(1, 1, 32);
        Assert.True(DecodeLinear.Forward(x1, w, null).eq(nn.functional.linear(x1, w)).all().item<bool>());
    }
}
