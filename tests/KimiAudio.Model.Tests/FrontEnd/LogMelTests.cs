using KimiAudio.Model.FrontEnd;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

public class LogMelTests(TinyFrontEnd tiny) : IClassFixture<TinyFrontEnd>
{
    [Fact]
    public void One_second_of_silence_padded_to_30_s_is_minus_1_5_everywhere()
    {
        using var mel = tiny.FrontEnd.WhisperLogMel(new float[16000]);
        Assert.Equal(new long[] { 1, 128, 3000 }, mel.shape);
        Assert.Equal(-1.5f, mel.min().item<float>());
        Assert.Equal(-1.5f, mel.max().item<float>());
    }

    [Fact]
    public void Log_mel_of_a_440_Hz_sine_matches_the_spec_check_values()
    {
        var x = new float[16000];
        for (int n = 0; n < x.Length; n++) x[n] = (float)(0.5 * Math.Sin(2 * Math.PI * 440 * n / 16000.0));
        using var batch = tiny.FrontEnd.WhisperLogMel(x);
        using var mel = batch[0];
        Assert.Equal(new long[] { 128, 3000 }, mel.shape);
        Assert.Equal(1.4853550, mel.max().item<float>(), 4);
        Assert.Equal(-0.5146450, mel.min().item<float>(), 4);
        Assert.Equal(-0.5112677, mel.mean().item<float>(), 4);
        var frame0 = mel[.., 0].narrow(0, 0, 8).data<float>().ToArray();
        var expected = new[] { 0.90752, 1.00508, 0.98641, 0.95195, 1.04252, 0.92962, 1.05076, 1.00605 };
        for (int i = 0; i < 8; i++) Assert.Equal(expected[i], frame0[i], 4);
        Assert.Equal(18, mel[.., 50].argmax().item<long>());
        using var silent = mel[.., 150];
        Assert.True(silent.sub(-0.5146450).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Clamp_floor_is_taken_per_segment_not_over_the_batch()
    {
        // a loud first segment and a quiet second one: the quiet one's floor comes from its own maximum
        var loud = TinyFrontEnd.Signal(480000, 1, 0.5f);
        var quiet = TinyFrontEnd.Signal(50000, 2, 0.001f);
        var x = loud.Concat(quiet).ToArray();
        using var both = tiny.FrontEnd.WhisperLogMel(x);
        using var alone = tiny.FrontEnd.WhisperLogMel(quiet);
        Assert.Equal(2, both.shape[0]);
        Assert.Equal(0f, both[1].sub(alone[0]).abs().max().item<float>(), 5);

        var glmBoth = tiny.FrontEnd.GlmFeatures(x);
        var glmAlone = tiny.FrontEnd.GlmFeatures(quiet);
        Assert.Single(glmBoth);
        using var a = glmBoth[0].Features[1].narrow(1, 0, 300);
        using var b = glmAlone[0].Features[0].narrow(1, 0, 300);
        Assert.True(a.sub(b).abs().max().item<float>() < 1e-5);
        foreach (var g in glmBoth.Concat(glmAlone)) g.Dispose();
    }
}
