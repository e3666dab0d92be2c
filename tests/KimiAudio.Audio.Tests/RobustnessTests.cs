using System.Diagnostics;

namespace KimiAudio.Audio.Tests;

public sealed class RobustnessTests
{
    private static readonly AudioDecodeLimits Limits = new();

    private static async Task<AudioDecodeException> Rejects(byte[] data, AudioDecodeLimits? limits = null, string? name = null) =>
        await Assert.ThrowsAsync<AudioDecodeException>(() => AudioDecoder.DecodeAsync(data, name, limits ?? Limits, CancellationToken.None));

    private static byte[] Tone16k(double seconds = 0.5, SampleKind kind = SampleKind.Int16) =>
        new TestWav(kind, 1, 16000).Build(Signals.Sine(440, 16000, seconds, 0.5));

    [Fact]
    public async Task Empty_input_is_rejected()
    {
        var ex = await Rejects([], name: "empty.wav");
        Assert.Contains("empty", ex.Message);
        Assert.StartsWith("empty.wav: ", ex.Message);
    }

    [Fact]
    public async Task Zero_channels_is_rejected()
    {
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { HeaderChannels = 0 }.Build(Signals.Sine(440, 16000, 0.1, 0.5));
        Assert.Contains("0 channels", (await Rejects(wav)).Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1_000_001L)]
    [InlineData(4_000_000_000L)]
    [InlineData(10L)]
    public async Task Absurd_sample_rates_are_rejected(long rate)
    {
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { HeaderSampleRate = rate }.Build(Signals.Sine(440, 16000, 0.1, 0.5));
        var ex = await Rejects(wav);
        Assert.Contains("sample rate", ex.Message);
        Assert.Contains(rate.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Fact]
    public async Task Inconsistent_block_align_is_rejected()
    {
        var wav = new TestWav(SampleKind.Int16, 2, 16000) { HeaderBlockAlign = 3 }.Build(new double[200]);
        Assert.Contains("block align", (await Rejects(wav)).Message);
    }

    [Fact]
    public async Task Unsupported_bit_depth_is_rejected()
    {
        var wav = new TestWav(SampleKind.Float32, 1, 16000).Build(new double[100]);
        wav[32] = 2; // block align 2
        wav[34] = 16; // float with 16 bits per sample
        Assert.Contains("16 bits", (await Rejects(wav)).Message);
    }

    [Fact]
    public async Task A_data_size_larger_than_the_file_decodes_what_is_there_without_allocating_the_claim()
    {
        var tone = Signals.Sine(440, 16000, 0.5, 0.5);
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { HeaderDataSize = uint.MaxValue - 1 }.Build(tone);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var decoded = await AudioDecoder.DecodeAsync(wav, null, Limits, CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(tone.Length, decoded.Samples.Length);
        Assert.True(allocated < 10_000_000, $"allocated {allocated} bytes for an 16 KB file claiming 4 GB");
    }

    [Fact]
    public async Task A_file_cut_inside_the_samples_decodes_the_whole_frames()
    {
        var wav = new TestWav(SampleKind.Int24, 2, 16000).Build(Signals.Interleave(Signals.Sine(440, 16000, 0.5, 0.5), Signals.Sine(440, 16000, 0.5, 0.5)));
        int headerBytes = 44;
        int keepFrames = 3000;
        var cut = wav[..(headerBytes + keepFrames * 6 + 4)]; // 3000 frames and 4 bytes of the next one

        var decoded = await AudioDecoder.DecodeAsync(cut, null, Limits, CancellationToken.None);

        Assert.Equal(keepFrames, decoded.Samples.Length);
    }

    [Theory]
    [InlineData(4)]   // "RIFF"
    [InlineData(11)]  // inside "WAVE"
    [InlineData(20)]  // inside the fmt chunk
    [InlineData(36)]  // after fmt, before the data chunk header
    [InlineData(44)]  // data chunk header, no samples
    [InlineData(45)]  // half a sample
    public async Task Files_cut_before_the_first_sample_are_rejected(int length)
    {
        var ex = await Rejects(Tone16k()[..length]);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public async Task A_few_nan_and_infinite_samples_are_replaced_by_zero()
    {
        var tone = Signals.Sine(440, 16000, 1.0, 0.5);
        tone[100] = double.NaN;
        tone[2000] = double.PositiveInfinity;
        tone[3000] = double.NegativeInfinity;
        tone[4000] = 1e300; // finite double, infinite as float

        var decoded = await AudioDecoder.DecodeAsync(new TestWav(SampleKind.Float64, 1, 16000).Build(tone), null, Limits, CancellationToken.None);

        Assert.Equal(4, decoded.ReplacedNonFiniteSamples);
        Assert.All(decoded.Samples, s => Assert.True(float.IsFinite(s) && Math.Abs(s) <= 1));
        Assert.Equal(0f, decoded.Samples[100]);
    }

    [Fact]
    public async Task Resampled_audio_with_nan_contains_no_nan()
    {
        var tone = Signals.Sine(440, 44100, 1.0, 0.5);
        for (int i = 0; i < 200; i++)
        {
            tone[i * 97] = double.NaN;
        }

        var decoded = await AudioDecoder.DecodeAsync(new TestWav(SampleKind.Float32, 1, 44100).Build(tone), null, Limits, CancellationToken.None);

        Assert.Equal(200, decoded.ReplacedNonFiniteSamples);
        Assert.All(decoded.Samples, s => Assert.True(float.IsFinite(s)));
    }

    [Fact]
    public async Task Mostly_nan_audio_is_rejected_as_corrupt()
    {
        var tone = Signals.Sine(440, 16000, 0.5, 0.5);
        for (int i = 0; i < tone.Length; i += 2)
        {
            tone[i] = double.NaN;
        }
        var ex = await Rejects(new TestWav(SampleKind.Float32, 1, 16000).Build(tone));
        Assert.Contains("NaN", ex.Message);
        Assert.Contains("corrupt", ex.Message);
    }

    [Fact]
    public async Task Float_samples_beyond_full_scale_are_clipped()
    {
        var tone = Signals.Sine(440, 16000, 0.2, 3.0);
        var decoded = await AudioDecoder.DecodeAsync(new TestWav(SampleKind.Float32, 1, 16000).Build(tone), null, Limits, CancellationToken.None);
        Assert.Equal(1f, decoded.Samples.Max());
        Assert.Equal(-1f, decoded.Samples.Min());
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 200)]
    [InlineData(3, 5000)]
    [InlineData(4, 100_000)]
    public async Task Random_bytes_are_rejected_with_a_reason(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        var ex = await Rejects(bytes, name: "noise.bin");
        Assert.StartsWith("noise.bin: ", ex.Message);
        Assert.True(ex.Message.Length > "noise.bin: ".Length + 10, ex.Message);
    }

    [Fact]
    public async Task Text_is_rejected()
    {
        var ex = await Rejects("This is not audio at all, just a line of text.\n"u8.ToArray(), name: "notes.mp3");
        Assert.Contains("could not be decoded", ex.Message);
    }

    [Fact]
    public async Task A_wav_header_followed_by_garbage_chunks_is_rejected()
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        "RIFF"u8.CopyTo(bytes);
        "WAVE"u8.CopyTo(bytes.AsSpan(8));
        await Rejects(bytes);
    }

    [Fact]
    public async Task Mp3_sync_word_followed_by_garbage_is_rejected()
    {
        var bytes = new byte[3000];
        new Random(11).NextBytes(bytes);
        bytes[0] = 0xFF; bytes[1] = 0xFB; bytes[2] = 0x90; bytes[3] = 0x64; // a valid MPEG-1 layer III header
        var ex = await Rejects(bytes);
        Assert.Contains("mp3", ex.Message);
    }

    [Fact]
    public async Task Audio_longer_than_the_limit_is_rejected()
    {
        var ex = await Rejects(Tone16k(3.0), new AudioDecodeLimits(MaxSeconds: 2));
        Assert.Contains("longer than the limit of 2 s", ex.Message);
    }

    [Fact]
    public async Task Compressed_audio_longer_than_the_limit_is_rejected()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("long.wav"), Tone16k(4.0));
        ExternalTools.Ffmpeg(dir.File("long.wav"), dir.File("long.mp3"), "-c:a", "libmp3lame", "-b:a", "64k");
        ExternalTools.Ffmpeg(dir.File("long.wav"), dir.File("long.flac"), "-c:a", "flac");
        var limits = new AudioDecodeLimits(MaxSeconds: 2);

        Assert.Contains("longer than the limit", (await Rejects(File.ReadAllBytes(dir.File("long.mp3")), limits)).Message);
        Assert.Contains("longer than the limit", (await Rejects(File.ReadAllBytes(dir.File("long.flac")), limits)).Message);
    }

    [Fact]
    public async Task Input_over_the_byte_limit_is_rejected()
    {
        var ex = await Rejects(Tone16k(), new AudioDecodeLimits(MaxBytes: 1000));
        Assert.Contains("over the limit of 1000 bytes", ex.Message);
    }

    [Fact]
    public async Task A_hanging_external_decoder_is_killed_at_the_timeout()
    {
        using var dir = new TempDir();
        string fake = dir.File("ffmpeg");
        File.WriteAllText(fake, "#!/bin/sh\nexec sleep 60\n");
        ExternalTools.Run("chmod", "+x", fake);
        var limits = new AudioDecodeLimits { FfmpegPath = fake, ExternalDecoderTimeout = TimeSpan.FromSeconds(1) };
        var flac = "fLaC"u8.ToArray().Concat(new byte[100]).ToArray();

        var clock = Stopwatch.StartNew();
        var ex = await Rejects(flac, limits);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Contains("did not finish within 1 s", ex.Message);
    }

    [Fact]
    public async Task A_missing_ffmpeg_is_a_host_error_not_a_bad_file()
    {
        var limits = new AudioDecodeLimits { FfmpegPath = "/nonexistent/ffmpeg" };
        var flac = "fLaC"u8.ToArray().Concat(new byte[100]).ToArray();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => AudioDecoder.DecodeAsync(flac, null, limits, CancellationToken.None));

        Assert.Contains("Install ffmpeg", ex.Message);
    }

    [Fact]
    public async Task Cancellation_is_not_reported_as_a_bad_file()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AudioDecoder.DecodeAsync(Tone16k(), null, Limits, cts.Token));
    }
}
