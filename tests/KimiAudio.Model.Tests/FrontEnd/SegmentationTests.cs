using KimiAudio.Model.FrontEnd;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

public class SegmentationTests(TinyFrontEnd tiny) : IClassFixture<TinyFrontEnd>
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1280, 1)]
    [InlineData(1281, 2)]
    [InlineData(16000, 13)]
    [InlineData(480000, 375)]
    public void Token_length_is_ceil_of_samples_over_1280(int samples, int tokens) =>
        Assert.Equal(tokens, AudioSegmentation.TokenLength(samples));

    [Fact]
    public void Audio_is_split_into_30_s_windows()
    {
        Assert.Empty(AudioSegmentation.Split(0));
        Assert.Equal([new AudioSegment(0, 480000)], AudioSegmentation.Split(480000));
        Assert.Equal([new AudioSegment(0, 480000), new AudioSegment(480000, 1)], AudioSegmentation.Split(480001));
        var s45 = AudioSegmentation.Split(45 * 16000);
        Assert.Equal([480000, 240000], s45.Select(s => s.Length));
        Assert.Equal([375, 188], s45.Select(s => s.TokenLength));
    }

    [Fact]
    public void A_65_s_signal_gives_three_segments_and_equal_feature_and_token_counts()
    {
        var x = TinyFrontEnd.Signal(65 * 16000, 3);
        var segments = AudioSegmentation.Split(x.Length);
        Assert.Equal([480000, 480000, 80000], segments.Select(s => s.Length));
        Assert.Equal([0, 480000, 960000], segments.Select(s => s.Start));
        Assert.Equal(375 + 375 + 63, AudioSegmentation.TotalTokens(x.Length));

        using var mel = tiny.FrontEnd.WhisperLogMel(x);
        Assert.Equal(new long[] { 3, 128, 3000 }, mel.shape);
        using var features = tiny.FrontEnd.ContinuousFeatures(x);
        Assert.Equal(new long[] { 813, 256 }, features.shape);
        var ids = tiny.FrontEnd.Tokenize(x);
        Assert.Equal(813, ids.Length);

        var groups = tiny.FrontEnd.GlmFeatures(x);
        Assert.Single(groups);
        Assert.Equal(new long[] { 3, 128, 3000 }, groups[0].Features.shape);        // padded to the longest segment
        Assert.Equal([3000L, 3000L, 500L], groups[0].FrameMask.sum(1).data<long>().ToArray());
        groups[0].Dispose();

        // the last segment is encoded on its own window: same as running those 5 s alone
        var tail = x[960000..];
        using var tailFeatures = tiny.FrontEnd.ContinuousFeatures(tail);
        Assert.True(features.narrow(0, 750, 63).sub(tailFeatures).abs().max().item<float>() < 1e-5);
        Assert.Equal(tiny.FrontEnd.Tokenize(tail), ids[750..]);
        // and the first window does not see the second
        using var headFeatures = tiny.FrontEnd.ContinuousFeatures(x[..480000]);
        Assert.True(features.narrow(0, 0, 375).sub(headFeatures).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Glm_padding_of_one_second_is_16640_samples_and_13_tokens()
    {
        var x = TinyFrontEnd.Signal(16000, 4);
        var groups = tiny.FrontEnd.GlmFeatures(x);
        Assert.Equal(new long[] { 1, 128, 104 }, groups[0].Features.shape);
        Assert.Equal(100L, groups[0].FrameMask.sum().item<long>());
        groups[0].Dispose();
        using var enc = tiny.FrontEnd.GlmEncode(x);
        Assert.Equal(13, enc.Ids.Length);
        Assert.Equal(new long[] { 13, 64 }, enc.Pooled.shape);
        Assert.Equal(13, tiny.FrontEnd.ContinuousFeatures(x).shape[0]);
    }

    [Fact]
    public void Frame_stacking_is_frame_major()
    {
        using var f50 = arange(52 * 5, ScalarType.Float32).reshape(52, 5);
        using var f12 = AudioFrontEnd.Stack(f50);
        Assert.Equal(new long[] { 13, 20 }, f12.shape);
        for (int j = 0; j < 13; j++)
            for (int k = 0; k < 4; k++)
                for (int d = 0; d < 5; d++)
                    Assert.Equal(f50[4 * j + k, d].item<float>(), f12[j, k * 5 + d].item<float>());
        Assert.Throws<ArgumentException>(() => AudioFrontEnd.Stack(zeros(6, 5)));
    }

    [Fact]
    public void Empty_or_non_finite_audio_is_rejected_with_a_reason()
    {
        var empty = Assert.Throws<ArgumentException>(() => tiny.FrontEnd.ContinuousFeatures([]));
        Assert.Contains("no samples", empty.Message);
        var x = new float[1000];
        x[17] = float.NaN;
        var nan = Assert.Throws<ArgumentException>(() => tiny.FrontEnd.Tokenize(x));
        Assert.Contains("sample 17", nan.Message);
    }
}
