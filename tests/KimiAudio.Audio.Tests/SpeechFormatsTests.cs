namespace KimiAudio.Audio.Tests;

/// <summary>
/// One espeak-ng utterance converted by sox/ffmpeg into many containers: every version must decode to about the same audio.
/// </summary>
public sealed class SpeechFormatsTests : IClassFixture<SpeechFormatsTests.Speech>
{
    private readonly Speech _speech;

    public SpeechFormatsTests(Speech speech) => _speech = speech;

    public sealed class Speech : IDisposable
    {
        public TempDir Dir { get; } = new();
        public DecodedAudio Reference { get; }

        public Speech()
        {
            ExternalTools.Run("espeak-ng", "-v", "en-us", "-w", Dir.File("speech.wav"),
                "The quick brown fox jumps over the lazy dog, and then it runs back home.");
            Reference = AudioDecoder.DecodeAsync(File.ReadAllBytes(Dir.File("speech.wav")), null, new AudioDecodeLimits(), CancellationToken.None)
                .GetAwaiter().GetResult();
        }

        public void Dispose() => Dir.Dispose();
    }

    private const string Duplicate = "pan=stereo|c0=c0|c1=c0";

    public static TheoryData<string, string, string[], string, double, double> Variants() => new()
    {
        // name, tool, arguments after the input, expected SourceFormat, duration tolerance (s), relative RMS tolerance.
        // ffmpeg's own mono->stereo upmix lowers each channel by 3 dB, so stereo copies are made with an explicit pan.
        // LAME loses about 5 % RMS on this synthetic speech in the encoder (ffmpeg's own decoder measures the same);
        // the in-process decoders are held to 2 % of ffmpeg's decoding in In_process_decoders_agree_with_ffmpeg.
        { "stereo44k.wav", "sox", ["-r", "44100", "-c", "2", "-b", "16", "-e", "signed-integer"], "wav/pcm16", 0.01, 0.01 },
        { "stereo48k-24bit.wav", "sox", ["-r", "48000", "-c", "2", "-b", "24", "-e", "signed-integer"], "wav/pcm24", 0.01, 0.01 },
        { "float32-16k.wav", "sox", ["-r", "16000", "-b", "32", "-e", "floating-point"], "wav/float32", 0.01, 0.01 },
        { "float64-8k.wav", "sox", ["-r", "8000", "-b", "64", "-e", "floating-point"], "wav/float64", 0.01, 0.05 },
        { "pcm8-11k.wav", "sox", ["-r", "11025", "-b", "8", "-e", "unsigned-integer"], "wav/pcm8", 0.01, 0.05 },
        { "stereo44k.mp3", "ffmpeg", ["-ar", "44100", "-af", Duplicate, "-c:a", "libmp3lame", "-b:a", "128k"], "mp3", 0.12, 0.08 },
        { "mono16k.mp3", "ffmpeg", ["-ar", "16000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"], "mp3", 0.12, 0.08 },
        { "stereo44k.flac", "ffmpeg", ["-ar", "44100", "-af", Duplicate, "-c:a", "flac"], "flac", 0.01, 0.01 },
        { "mono.flac", "ffmpeg", ["-c:a", "flac"], "flac", 0.001, 0.001 },
        { "stereo48k.ogg", "ffmpeg", ["-ar", "48000", "-af", Duplicate, "-c:a", "libvorbis", "-q:a", "5"], "ogg/vorbis", 0.05, 0.05 },
        { "mono.opus", "ffmpeg", ["-c:a", "libopus", "-b:a", "48k"], "ogg/opus", 0.05, 0.1 },
        { "mono.m4a", "ffmpeg", ["-c:a", "aac", "-b:a", "96k"], "mp4", 0.08, 0.05 },
        { "alaw.wav", "ffmpeg", ["-c:a", "pcm_alaw"], "wav/format-0x0006", 0.01, 0.02 },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Every_container_decodes_to_the_same_speech(string name, string tool, string[] args, string format, double durationTolerance, double rmsTolerance)
    {
        string input = _speech.Dir.File("speech.wav"), output = _speech.Dir.File(name);
        if (tool == "sox")
        {
            ExternalTools.Run("sox", [input, .. args, output]);
        }
        else
        {
            ExternalTools.Ffmpeg(input, output, args);
        }

        var decoded = await AudioDecoder.DecodeAsync(File.ReadAllBytes(output), name, new AudioDecodeLimits(), CancellationToken.None);

        var reference = _speech.Reference;
        Assert.Equal(format, decoded.SourceFormat);
        Assert.Equal(16000, decoded.SampleRate);
        Assert.Equal(reference.DurationSeconds, decoded.DurationSeconds, durationTolerance);
        double rms = Signals.Rms(decoded.Samples), referenceRms = Signals.Rms(reference.Samples);
        Assert.True(Math.Abs(rms - referenceRms) / referenceRms <= rmsTolerance, $"RMS {rms:F5} vs WAV {referenceRms:F5}");
        Assert.All(decoded.Samples, s => Assert.True(float.IsFinite(s)));
    }

    [Fact]
    public void Reference_speech_is_real_audio()
    {
        var reference = _speech.Reference;
        Assert.Equal("wav/pcm16", reference.SourceFormat);
        Assert.Equal(22050, reference.SourceSampleRate);
        Assert.InRange(reference.DurationSeconds, 2.0, 8.0);
        Assert.InRange(Signals.Rms(reference.Samples), 0.02, 0.5);
    }

    [Theory]
    [InlineData("check.mp3", "libmp3lame")]
    [InlineData("check.ogg", "libvorbis")]
    public async Task In_process_decoders_agree_with_ffmpeg(string name, string codec)
    {
        ExternalTools.Ffmpeg(_speech.Dir.File("speech.wav"), _speech.Dir.File(name), "-c:a", codec);
        ExternalTools.Ffmpeg(_speech.Dir.File(name), _speech.Dir.File(name + ".ffmpeg.wav"), "-c:a", "pcm_f32le");
        var limits = new AudioDecodeLimits();

        var ours = await AudioDecoder.DecodeAsync(File.ReadAllBytes(_speech.Dir.File(name)), name, limits, CancellationToken.None);
        var theirs = await AudioDecoder.DecodeAsync(File.ReadAllBytes(_speech.Dir.File(name + ".ffmpeg.wav")), name, limits, CancellationToken.None);

        Assert.DoesNotContain("wav", ours.SourceFormat);
        Assert.Equal("wav/float32", theirs.SourceFormat);
        Assert.Equal(theirs.DurationSeconds, ours.DurationSeconds, 0.08); // NLayer keeps the encoder delay that ffmpeg trims
        double rms = Signals.Rms(ours.Samples), reference = Signals.Rms(theirs.Samples);
        Assert.True(Math.Abs(rms - reference) / reference < 0.02, $"RMS {rms:F5} vs ffmpeg {reference:F5}");
    }

    [Fact]
    public async Task Lossless_flac_matches_the_wav_sample_for_sample()
    {
        ExternalTools.Ffmpeg(_speech.Dir.File("speech.wav"), _speech.Dir.File("exact.flac"), "-c:a", "flac");

        var flac = await AudioDecoder.DecodeAsync(File.ReadAllBytes(_speech.Dir.File("exact.flac")), null, new AudioDecodeLimits(), CancellationToken.None);

        Assert.Equal(_speech.Reference.Samples.Length, flac.Samples.Length);
        double maxDiff = _speech.Reference.Samples.Zip(flac.Samples, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
    }

    [Fact]
    public async Task Content_decides_the_format_not_the_name()
    {
        ExternalTools.Ffmpeg(_speech.Dir.File("speech.wav"), _speech.Dir.File("really.mp3"), "-c:a", "libmp3lame");
        var mp3Bytes = File.ReadAllBytes(_speech.Dir.File("really.mp3"));
        var wavBytes = File.ReadAllBytes(_speech.Dir.File("speech.wav"));

        var mp3NamedWav = await AudioDecoder.DecodeAsync(mp3Bytes, "song.wav", new AudioDecodeLimits(), CancellationToken.None);
        var wavNamedMp3 = await AudioDecoder.DecodeAsync(wavBytes, "song.mp3", new AudioDecodeLimits(), CancellationToken.None);

        Assert.Equal("mp3", mp3NamedWav.SourceFormat);
        Assert.Equal("wav/pcm16", wavNamedMp3.SourceFormat);
        Assert.Equal(_speech.Reference.DurationSeconds, mp3NamedWav.DurationSeconds, 0.12);
    }

    [Fact]
    public async Task Truncated_mp3_and_flac_decode_their_first_part()
    {
        ExternalTools.Ffmpeg(_speech.Dir.File("speech.wav"), _speech.Dir.File("cut.mp3"), "-c:a", "libmp3lame", "-b:a", "64k");
        ExternalTools.Ffmpeg(_speech.Dir.File("speech.wav"), _speech.Dir.File("cut.flac"), "-c:a", "flac");
        var limits = new AudioDecodeLimits();
        double full = _speech.Reference.DurationSeconds;

        foreach (var name in new[] { "cut.mp3", "cut.flac" })
        {
            var bytes = File.ReadAllBytes(_speech.Dir.File(name));
            var half = await AudioDecoder.DecodeAsync(bytes[..(bytes.Length / 2)], name, limits, CancellationToken.None);
            Assert.InRange(half.DurationSeconds, 0.2 * full, 0.8 * full);
        }
    }
}
