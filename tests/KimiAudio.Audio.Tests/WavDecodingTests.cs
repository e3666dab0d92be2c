namespace KimiAudio.Audio.Tests;

public sealed class WavDecodingTests
{
    private static readonly AudioDecodeLimits Limits = new();

    public static TheoryData<SampleKind, bool, double> Encodings() => new()
    {
        { SampleKind.UInt8, false, 1.5 / 128 },
        { SampleKind.Int16, false, 1.5 / 32768 },
        { SampleKind.Int24, false, 1e-6 },
        { SampleKind.Int32, false, 1e-6 },
        { SampleKind.Float32, false, 1e-6 },
        { SampleKind.Float64, false, 1e-6 },
        { SampleKind.Int16, true, 1.5 / 32768 },
        { SampleKind.Int24, true, 1e-6 },
        { SampleKind.Int32, true, 1e-6 },
        { SampleKind.Float32, true, 1e-6 },
        { SampleKind.Float64, true, 1e-6 },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    // tolerance: 1.5 quantisation steps (half a step of rounding, and writer/reader full-scale conventions differ by one step)
    public async Task Every_pcm_and_float_encoding_decodes_to_the_same_samples(SampleKind kind, bool extensible, double tolerance)
    {
        var tone = Signals.Sine(440, 16000, 0.5, 0.6);
        var wav = new TestWav(kind, 1, 16000) { Extensible = extensible }.Build(tone);

        var decoded = await AudioDecoder.DecodeAsync(wav, "tone.wav", Limits, CancellationToken.None);

        Assert.Equal(16000, decoded.SampleRate);
        Assert.Equal(tone.Length, decoded.Samples.Length);
        Assert.Equal(16000, decoded.SourceSampleRate);
        Assert.Equal(1, decoded.SourceChannels);
        Assert.StartsWith("wav/", decoded.SourceFormat);
        double maxError = tone.Select((v, i) => Math.Abs(v - decoded.Samples[i])).Max();
        Assert.True(maxError <= tolerance + 1e-7, $"max error {maxError} > {tolerance}");
    }

    [Fact]
    public async Task Stereo_is_averaged_to_mono()
    {
        var left = Signals.Sine(300, 16000, 0.25, 0.8);
        var right = Signals.Sine(700, 16000, 0.25, 0.4);
        var wav = new TestWav(SampleKind.Float32, 2, 16000).Build(Signals.Interleave(left, right));

        var decoded = await AudioDecoder.DecodeAsync(wav, null, Limits, CancellationToken.None);

        Assert.Equal(2, decoded.SourceChannels);
        Assert.Equal(left.Length, decoded.Samples.Length);
        for (int i = 0; i < left.Length; i++)
        {
            Assert.Equal((left[i] + right[i]) / 2, decoded.Samples[i], 1e-6);
        }
    }

    [Fact]
    public async Task Six_channels_are_averaged_and_opposite_channels_cancel()
    {
        var a = Signals.Sine(500, 16000, 0.2, 0.5);
        var minusA = a.Select(v => -v).ToArray();
        var silence = new double[a.Length];
        var wav = new TestWav(SampleKind.Int24, 6, 16000).Build(Signals.Interleave(a, minusA, a, minusA, silence, a));

        var decoded = await AudioDecoder.DecodeAsync(wav, null, Limits, CancellationToken.None);

        Assert.Equal(6, decoded.SourceChannels);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i] / 6, decoded.Samples[i], 1e-5);
        }
    }

    [Fact]
    public async Task Unknown_chunks_and_odd_sized_chunks_before_data_are_skipped()
    {
        var tone = Signals.Sine(1000, 16000, 0.1, 0.5);
        var plain = new TestWav(SampleKind.Int16, 1, 16000).Build(tone);
        // insert a 3-byte "LIST" chunk (+1 pad byte) between fmt and data
        byte[] extra = [.. "LIST"u8, 3, 0, 0, 0, 1, 2, 3, 0];
        var wav = plain[..36].Concat(extra).Concat(plain[36..]).ToArray();

        var decoded = await AudioDecoder.DecodeAsync(wav, null, Limits, CancellationToken.None);

        Assert.Equal(tone.Length, decoded.Samples.Length);
        Assert.Equal(tone[123], decoded.Samples[123], 1e-4);
    }

    [Fact]
    public async Task A_wav_codec_not_parsed_in_process_goes_to_ffmpeg()
    {
        using var dir = new TempDir();
        var tone = Signals.Sine(440, 8000, 1.0, 0.5);
        File.WriteAllBytes(dir.File("pcm.wav"), new TestWav(SampleKind.Int16, 1, 8000).Build(tone));
        ExternalTools.Ffmpeg(dir.File("pcm.wav"), dir.File("alaw.wav"), "-c:a", "pcm_alaw");

        var decoded = await AudioDecoder.DecodeAsync(File.ReadAllBytes(dir.File("alaw.wav")), "alaw.wav", Limits, CancellationToken.None);

        Assert.Equal("wav/format-0x0006", decoded.SourceFormat);
        Assert.Equal(8000, decoded.SourceSampleRate);
        Assert.Equal(16000, decoded.Samples.Length);
        Assert.Equal(0.5 / Math.Sqrt(2), Signals.Rms(Signals.Interior(decoded.Samples)), 0.01);
        Assert.Equal(440, Signals.ToneFrequency(Signals.Interior(decoded.Samples), 16000), 1.0);
    }

    [Fact]
    public async Task A_non_default_target_rate_is_honoured()
    {
        var wav = new TestWav(SampleKind.Int16, 1, 48000).Build(Signals.Sine(1000, 48000, 1.0, 0.5));

        var decoded = await AudioDecoder.DecodeAsync(wav, null, new AudioDecodeLimits(TargetSampleRate: 24000), CancellationToken.None);

        Assert.Equal(24000, decoded.SampleRate);
        Assert.Equal(24000, decoded.Samples.Length);
        Assert.Equal(1.0, decoded.DurationSeconds, 1e-9);
        Assert.Equal(1000, Signals.ToneFrequency(Signals.Interior(decoded.Samples), 24000), 0.5);
    }
}
