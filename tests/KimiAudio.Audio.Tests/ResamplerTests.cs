namespace KimiAudio.Audio.Tests;

public sealed class ResamplerTests
{
    [Theory]
    [InlineData(8000, 1000)]
    [InlineData(11025, 1000)]
    [InlineData(22050, 1000)]
    [InlineData(24000, 3000)]
    [InlineData(32000, 440)]
    [InlineData(44100, 1000)]
    [InlineData(44100, 6000)]
    [InlineData(48000, 1000)]
    [InlineData(96000, 2500)]
    [InlineData(37813, 1000)] // odd rate: quantised phases
    public async Task A_sine_keeps_its_frequency_and_amplitude(int sourceRate, double frequency)
    {
        const double amplitude = 0.5;
        var wav = new TestWav(SampleKind.Float32, 1, sourceRate).Build(Signals.Sine(frequency, sourceRate, 2.0, amplitude));

        var decoded = await AudioDecoder.DecodeAsync(wav, null, new AudioDecodeLimits(), CancellationToken.None);

        long expectedLength = (long)Math.Ceiling(2.0 * sourceRate * 16000 / sourceRate);
        Assert.InRange(decoded.Samples.Length, expectedLength - 1, expectedLength + 1);
        var interior = Signals.Interior(decoded.Samples);
        double peak = Signals.Rms(interior) * Math.Sqrt(2);
        Assert.True(Math.Abs(peak - amplitude) / amplitude < 0.01, $"amplitude {peak:F5}, want {amplitude} within 1 %");
        Assert.Equal(frequency, Signals.ToneFrequency(interior, 16000), 0.5);
    }

    [Fact]
    public void A_tone_above_the_output_nyquist_frequency_is_removed_not_aliased()
    {
        var input = Signals.Sine(11000, 48000, 1.0, 0.5).Select(v => (float)v).ToArray(); // would alias to 5 kHz

        var output = AudioResampler.Resample(input, 48000, 16000);

        Assert.True(Signals.Rms(Signals.Interior(output)) < 0.5e-3, $"residual RMS {Signals.Rms(Signals.Interior(output))}");
    }

    [Fact]
    public void Upsampling_interpolates_between_the_original_samples()
    {
        var input = Signals.Sine(500, 8000, 1.0, 0.5).Select(v => (float)v).ToArray();

        var output = AudioResampler.Resample(input, 8000, 16000);

        Assert.Equal(16000, output.Length);
        var expected = Signals.Sine(500, 16000, 1.0, 0.5);
        for (int i = 2000; i < 14000; i++)
        {
            Assert.Equal(expected[i], output[i], 2e-3);
        }
        Assert.Equal(input[4000], output[8000], 1e-6); // even outputs sit on input samples
    }

    [Fact]
    public void Same_rate_is_a_copy_and_lengths_round_up()
    {
        float[] x = [0.1f, -0.2f, 0.3f];
        Assert.Equal(x, AudioResampler.Resample(x, 16000, 16000));
        Assert.Equal(2, AudioResampler.OutputLength(4, 44100, 16000)); // ceil(4 * 160 / 441)
        Assert.Equal(160, AudioResampler.OutputLength(441, 44100, 16000));
        Assert.Equal(16000, AudioResampler.OutputLength(48000, 48000, 16000));
    }
}
