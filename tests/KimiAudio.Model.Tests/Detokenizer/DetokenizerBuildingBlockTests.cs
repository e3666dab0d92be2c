using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Detokenizer;
using KimiAudio.Model.Detokenizer.FlowMatching;
using KimiAudio.Model.Detokenizer.Vocoder;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Detokenizer;

public class DetokenizerBuildingBlockTests
{
    [Fact]
    public void Timestep_embedding_puts_cos_before_sin()
    {
        using var f = TimestepEmbedder.Frequencies(tensor(new long[] { 34 }));
        var v = f[0].data<float>().ToArray();
        Assert.Equal(256, v.Length);
        float[] cosPart = [-0.84857f, 0.97512f, -0.39158f, -0.64046f];
        float[] sinPart = [0.52908f, 0.22167f, -0.92015f, 0.76799f];
        for (int i = 0; i < 4; i++)
        {
            Assert.True(Math.Abs(cosPart[i] - v[i]) < 2e-5, $"cos dim {i}: {v[i]}");
            Assert.True(Math.Abs(sinPart[i] - v[128 + i]) < 2e-5, $"sin dim {i}: {v[128 + i]}");
        }
    }

    [Fact]
    public void Dit_rope_rotates_interleaved_pairs()
    {
        var (cosT, sinT) = Rope.Table(8, 4, 10000.0, 1.0);
        using var x = arange(8, dtype: ScalarType.Float32).reshape(1, 1, 1, 8);
        using var c = cosT[1].reshape(1, 1, 1, 4);
        using var s = sinT[1].reshape(1, 1, 1, 4);
        using var r = Rope.Apply(x, c, s);
        float[] expected = [-0.84147f, 0.54030f, 1.69051f, 3.18468f, 3.94980f, 5.03975f, 5.99300f, 7.00600f];
        var got = r.reshape(-1).data<float>().ToArray();
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(expected[i] - got[i]) < 2e-5, $"dim {i}: {got[i]} vs {expected[i]}");
        cosT.Dispose();
        sinT.Dispose();
    }

    [Fact]
    public void Sinusoid_rows_are_fairseq_sin_then_cos_with_row_zero_empty()
    {
        using var e = Rope.Sinusoids([0, 1, 2], 8, CPU);
        Assert.Equal(0f, e[0].abs().sum().item<float>());
        // dim 8: f_i = exp(-i ln(1e4)/3); row 1 = [sin(f_0..3) | cos(f_0..3)]
        var row = e[1].data<float>().ToArray();
        Assert.Equal((float)Math.Sin(1.0), row[0], 5);
        Assert.Equal((float)Math.Cos(1.0), row[4], 5);
        Assert.Equal((float)Math.Sin(Math.Exp(-Math.Log(1e4) / 3)), row[1], 5);
    }

    [Fact]
    public void Kaiser_sinc_filter_matches_the_spec_taps_and_the_fixture_buffers()
    {
        using var f = TinyDetokenizerCheckpoint.KaiserSincFilter(0.25, 0.3, 12);
        double[] spec = [0.00202896, 0.00938947, -0.02554346, -0.05765738, 0.12857258, 0.4432098, 0.4432098, 0.12857258, -0.05765738, -0.02554346, 0.00938947, 0.00202896];
        var got = f.data<float>().ToArray();
        for (int i = 0; i < 12; i++) Assert.Equal(spec[i], got[i], 6);
        using var src = PickleTensorSource.Open(Fixtures.Path("detok-tiny-a", "vocoder", "model.pt"), ["generator"], k => k);
        using var stored = src.Read("activation_post.upsample.filter");
        Assert.True((stored.reshape(-1) - f).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Weight_norm_is_folded_over_all_dims_but_zero_for_conv_and_transposed_conv()
    {
        var dir = Directory.CreateTempSubdirectory("wn-");
        var path = Path.Combine(dir.FullName, "g.pt");
        using var v1 = randn(4, 3, 5);          // Conv1d [out, in, k]
        using var g1 = rand(4, 1, 1).add(0.5);
        using var v2 = randn(6, 2, 7);          // ConvTranspose1d [in, out, k]: dim 0 is in-channels
        using var g2 = rand(6, 1, 1).add(0.5);
        var gen = new PyDict { IsOrdered = true };
        gen.Set("conv.weight_g", g1);
        gen.Set("conv.weight_v", v1);
        gen.Set("conv.bias", zeros(4));
        gen.Set("up.weight_g", g2);
        gen.Set("up.weight_v", v2);
        var root = new PyDict();
        root.Set("generator", gen);
        TorchZipWriter.Write(path, root);
        using var src = PickleTensorSource.Open(path, ["generator"], k => k);
        var fold = new WeightNormFoldingSource(src);
        Assert.Equal(new[] { "conv.bias", "conv.weight", "up.weight" }, fold.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new long[] { 6, 2, 7 }, fold.ShapeOf("up.weight"));
        using var w1 = fold.Read("conv.weight");
        using var w2 = fold.Read("up.weight");
        // each slice along dim 0 has norm g
        using var n1 = w1.pow(2).sum([1, 2]).sqrt();
        using var n2 = w2.pow(2).sum([1, 2]).sqrt();
        Assert.True((n1 - g1.reshape(-1)).abs().max().item<float>() < 1e-5f);
        Assert.True((n2 - g2.reshape(-1)).abs().max().item<float>() < 1e-5f);
        using var expected = v2.mul(g2).div(v2.pow(2).sum([1, 2], keepdim: true).sqrt());
        Assert.True((w2 - expected).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Weight_norm_half_without_partner_is_an_error()
    {
        var dir = Directory.CreateTempSubdirectory("wn-");
        var path = Path.Combine(dir.FullName, "g.pt");
        var gen = new PyDict { IsOrdered = true };
        gen.Set("conv_pre.weight_v", zeros(2, 2, 3));
        var root = new PyDict();
        root.Set("generator", gen);
        TorchZipWriter.Write(path, root);
        using var src = PickleTensorSource.Open(path, ["generator"], k => k);
        var ex = Assert.Throws<CheckpointException>(() => new WeightNormFoldingSource(src));
        Assert.Contains("conv_pre.weight_g", ex.Message);
    }

    [Fact]
    public void Configs_are_read_from_the_fixture_files()
    {
        var dit = DiTConfig.Load(Fixtures.Path("detok-tiny-a", "audio_detokenizer", "config.yaml"));
        Assert.Equal((64, 2, 4, 256, 64), (dit.HiddenSize, dit.Depth, dit.NumHeads, dit.MlpHidden, dit.SemanticVocabSize));
        Assert.True(dit.UseRope);
        Assert.Equal("sincos", dit.PositionEmbeddingType);
        Assert.True(dit.NormalizeMel);
        Assert.Equal(-4.5f, dit.MelMean);
        Assert.Equal(2.2f, dit.MelStd);
        var voc = VocoderConfig.Load(Fixtures.Path("detok-tiny-a", "vocoder", "config.json"));
        Assert.Equal(480, voc.HopLength);
        Assert.Equal(24000, voc.SamplingRate);
        Assert.Equal("snakebeta", voc.Activation);
    }
}
