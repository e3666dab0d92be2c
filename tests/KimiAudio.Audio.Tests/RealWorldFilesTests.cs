using System.Buffers.Binary;
using System.Diagnostics;

namespace KimiAudio.Audio.Tests;

/// <summary>
/// Files as real tools and recorders write them (made here with ffmpeg from a 3 s tone of known length), plus the ways such
/// files are damaged. Each either decodes what is really there (duration close to the truth) or fails with a true,
/// one-line reason.
/// </summary>
public sealed class RealWorldFilesTests : IClassFixture<RealWorldFilesTests.Sources>
{
    private const double Seconds = 3.0;
    private static readonly AudioDecodeLimits Limits = new();
    private readonly Sources _sources;

    public RealWorldFilesTests(Sources sources) => _sources = sources;

    /// <summary>A 3 s stereo 44.1 kHz tone (440 Hz left, 660 Hz right) and a cover picture, shared by the tests.</summary>
    public sealed class Sources : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Tone => Dir.File("tone.wav");
        public string Cover => Dir.File("cover.png");

        public Sources()
        {
            ExternalTools.Run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=44100:duration={Seconds}",
                "-f", "lavfi", "-i", $"sine=frequency=660:sample_rate=44100:duration={Seconds}",
                "-filter_complex", "[0:a][1:a]amerge=inputs=2", "-c:a", "pcm_s16le", Tone);
            // noise compresses badly, so the picture is large (hundreds of KB), as album art often is
            ExternalTools.Run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "nullsrc=s=400x400,geq=random(1)*255:128:128", "-frames:v", "1", Cover);
        }

        /// <summary>The tone converted by ffmpeg with <paramref name="args"/> (cached by name).</summary>
        public byte[] Make(string name, params string[] args)
        {
            string path = Dir.File(name);
            lock (this)
            {
                if (!File.Exists(path))
                {
                    ExternalTools.Ffmpeg(Tone, path, args);
                }
            }
            return File.ReadAllBytes(path);
        }

        public void Dispose() => Dir.Dispose();
    }

    private static Task<DecodedAudio> Decode(byte[] data, string? name = null, AudioDecodeLimits? limits = null) =>
        AudioDecoder.DecodeAsync(data, name, limits ?? Limits, CancellationToken.None);

    private static async Task<string> Reason(byte[] data, string name, AudioDecodeLimits? limits = null)
    {
        var ex = await Assert.ThrowsAsync<AudioDecodeException>(() => Decode(data, name, limits));
        Assert.StartsWith(name + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        return ex.Message;
    }

    private static void AssertTone(DecodedAudio decoded, double seconds, double tolerance)
    {
        Assert.Equal(16000, decoded.SampleRate);
        Assert.Equal(seconds, decoded.DurationSeconds, tolerance);
        // ffmpeg's sine source has amplitude 1/8; the mono mix (a + b) / 2 of two such sines has an RMS of 0.125 / 2 = 0.0625
        double rms = Signals.Rms(Signals.Interior(decoded.Samples));
        Assert.InRange(rms, 0.05, 0.075);
        Assert.All(decoded.Samples, s => Assert.True(float.IsFinite(s)));
    }

    // ---- too short ----

    [Theory]
    [InlineData(16000, 1)]
    [InlineData(44100, 2)]
    [InlineData(8000, 1)]
    public async Task A_wav_with_one_sample_decodes_to_that_sample(int rate, int channels)
    {
        var wav = new TestWav(SampleKind.Int16, channels, rate).Build(Enumerable.Repeat(0.5, channels).ToArray());

        var decoded = await Decode(wav, "one.wav");

        Assert.Equal(AudioResampler.OutputLength(1, rate, 16000), decoded.Samples.Length);
        Assert.True(decoded.Samples.Length >= 1);
        Assert.Equal(rate, decoded.SourceSampleRate);
    }

    [Fact]
    public async Task A_wav_with_a_data_chunk_but_less_than_one_frame_says_so()
    {
        var wav = new TestWav(SampleKind.Int24, 2, 16000).Build([0.5, 0.5]);
        var message = await Reason(wav[..^2], "short.wav"); // 4 of the 6 bytes of the only frame

        Assert.Contains("less than one sample frame", message);
        Assert.Contains("4 bytes", message);
    }

    [Fact]
    public async Task A_wav_with_an_empty_data_chunk_says_it_holds_no_samples()
    {
        var wav = new TestWav(SampleKind.Int16, 1, 16000).Build([]);
        Assert.Contains("'data' chunk is empty", await Reason(wav, "empty-data.wav"));
    }

    // ---- WAV chunks and headers ----

    [Fact]
    public async Task Wav_with_list_bext_junk_and_fact_chunks_before_data_and_a_list_after_it()
    {
        var tone = Signals.Sine(440, 16000, 1.0, 0.5);
        var plain = new TestWav(SampleKind.Int16, 1, 16000).Build(tone);
        byte[] before = [.. Chunk("JUNK", new byte[28]), .. Chunk("bext", new byte[602]), .. Chunk("LIST", [.. "INFOISFT"u8, 5, 0, 0, 0, .. "Lavf\0"u8, 0]),
            .. Chunk("fact", [0x80, 0x3E, 0, 0])];
        byte[] after = Chunk("LIST", [.. "INFOICMT"u8, 3, 0, 0, 0, 0x7F, 0x7F, 0x7F]); // odd size: a pad byte follows
        var wav = WithRiffSize([.. plain[..36], .. before, .. plain[36..], .. after]);

        var decoded = await Decode(wav, "chunks.wav");

        Assert.Equal(tone.Length, decoded.Samples.Length);
        Assert.Equal(tone[777], decoded.Samples[777], 1e-4);
    }

    [Fact]
    public async Task Wav_written_by_ffmpeg_with_bext_and_list_chunks()
    {
        var bytes = _sources.Make("bext.wav", "-c:a", "pcm_s16le", "-write_bext", "1", "-metadata", "comment=recorded on a field recorder",
            "-metadata", "title=interview");
        Assert.Equal("bext"u8.ToArray(), bytes[36..40]); // the chunk really is there, before data

        var decoded = await Decode(bytes, "bext.wav");

        Assert.Equal("wav/pcm16", decoded.SourceFormat);
        Assert.Equal(AudioResampler.OutputLength((long)(Seconds * 44100), 44100, 16000), decoded.Samples.Length);
        AssertTone(decoded, Seconds, 1e-9);
    }

    [Theory]
    [InlineData("pcm_s24le", "wav/pcm24")]
    [InlineData("pcm_s32le", "wav/pcm32")]
    [InlineData("pcm_f32le", "wav/float32")]
    public async Task Wave_format_extensible_from_ffmpeg_decodes_every_channel(string codec, string format)
    {
        // ffmpeg writes WAVE_FORMAT_EXTENSIBLE for more than two channels
        var bytes = _sources.Make($"ext-{codec}.wav", "-af", "pan=5.1|FL=c0|FR=c1|FC=c0|LFE=c1|BL=c0|BR=c1", "-c:a", codec);
        Assert.Equal(0xFFFE, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(20)));

        var decoded = await Decode(bytes, "surround.wav");

        Assert.Equal(format, decoded.SourceFormat);
        Assert.Equal(6, decoded.SourceChannels);
        AssertTone(decoded, Seconds, 1e-4);
    }

    [Fact]
    public async Task Wave_format_extensible_with_an_unknown_sub_format_fails_with_a_reason()
    {
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { Extensible = true }.Build(Signals.Sine(440, 16000, 0.2, 0.5));
        wav[20 + 24 + 5] ^= 0x55; // break the KSDATAFORMAT GUID suffix

        var message = await Reason(wav, "odd.wav");

        Assert.Contains("wav/extensible-unknown", message);
    }

    [Theory]
    [InlineData("RF64")]
    [InlineData("BW64")]
    public async Task Rf64_and_bw64_take_the_sizes_from_the_ds64_chunk(string magic)
    {
        var rf64 = _sources.Make("rf64.wav", "-c:a", "pcm_s16le", "-rf64", "always");
        Assert.Equal("RF64"u8.ToArray(), rf64[..4]);
        // BW64 (ITU-R BS.2088) has the RF64 layout; a chunk after the samples must not be read as audio
        byte[] file = [.. rf64, .. Chunk("LIST", [.. "INFOICMT"u8, 8, 0, 0, 0, .. "trailer!"u8])];
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(file, 0);

        var decoded = await Decode(file, "big.wav");

        Assert.Equal("wav/pcm16", decoded.SourceFormat);
        Assert.Equal(2, decoded.SourceChannels);
        Assert.Equal(AudioResampler.OutputLength((long)(Seconds * 44100), 44100, 16000), decoded.Samples.Length);
        AssertTone(decoded, Seconds, 1e-9);
    }

    [Fact]
    public async Task Rf64_without_a_ds64_chunk_fails_with_a_reason()
    {
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { HeaderDataSize = uint.MaxValue }.Build(Signals.Sine(440, 16000, 0.2, 0.5));
        "RF64"u8.CopyTo(wav);
        Assert.Contains("RF64/BW64 file has no 'ds64' chunk", await Reason(wav, "nods64.wav"));
    }

    [Fact]
    public async Task A_wav_whose_data_size_was_never_written_decodes_to_the_end()
    {
        // a recorder that crashed (or wrote to a pipe) leaves the data size 0
        var tone = Signals.Sine(440, 16000, 0.5, 0.5);
        var wav = new TestWav(SampleKind.Int16, 1, 16000) { HeaderDataSize = 0 }.Build(tone);

        var decoded = await Decode(wav, "unfinished.wav");

        Assert.Equal(tone.Length, decoded.Samples.Length);
    }

    // ---- compressed formats ----

    [Fact]
    public async Task Mp3_with_an_id3v2_tag_holding_a_large_picture()
    {
        string output = _sources.Dir.File("cover.mp3");
        ExternalTools.Run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", _sources.Tone, "-i", _sources.Cover,
            "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-b:a", "128k", "-c:v", "copy", "-id3v2_version", "3", "-write_id3v1", "1",
            "-metadata", "title=With cover", "-metadata:s:v", "title=Album cover", "-metadata:s:v", "comment=Cover (front)", "-disposition:v", "attached_pic", output);
        var bytes = File.ReadAllBytes(output);
        Assert.Equal("ID3"u8.ToArray(), bytes[..3]);
        Assert.True(bytes.Length > 200_000, $"{bytes.Length} bytes: the picture is not in the tag");

        var decoded = await Decode(bytes, "cover.mp3");

        Assert.Equal("mp3", decoded.SourceFormat);
        AssertTone(decoded, Seconds, 0.08);
    }

    [Fact]
    public async Task Variable_bit_rate_mp3()
    {
        var bytes = _sources.Make("vbr.mp3", "-c:a", "libmp3lame", "-q:a", "4");
        Assert.True(bytes.AsSpan(0, 2000).IndexOf("Xing"u8) >= 0, "no Xing header: not VBR");

        var decoded = await Decode(bytes, "vbr.mp3");

        Assert.Equal("mp3", decoded.SourceFormat);
        AssertTone(decoded, Seconds, 0.08);
    }

    [Fact]
    public async Task Ogg_opus()
    {
        var bytes = _sources.Make("tone.opus", "-c:a", "libopus", "-b:a", "64k");

        var decoded = await Decode(bytes, "tone.opus");

        Assert.Equal("ogg/opus", decoded.SourceFormat);
        Assert.Equal(48000, decoded.SourceSampleRate);
        AssertTone(decoded, Seconds, 0.03);
    }

    [Theory]
    [InlineData("tone.m4a", new string[0])]
    [InlineData("faststart.m4a", new[] { "-movflags", "+faststart" })]
    public async Task Aac_in_m4a(string name, string[] extra)
    {
        var bytes = _sources.Make(name, ["-c:a", "aac", "-b:a", "96k", .. extra]);
        Assert.Equal("ftyp"u8.ToArray(), bytes[4..8]);

        var decoded = await Decode(bytes, name);

        Assert.Equal("mp4", decoded.SourceFormat);
        AssertTone(decoded, Seconds, 0.05);
    }

    [Theory]
    [InlineData(1000L)]           // far fewer than there are
    [InlineData(10_000_000L)]     // far more
    [InlineData(0L)]              // "unknown", as streaming encoders write it
    public async Task Flac_with_a_wrong_total_samples_field_decodes_the_frames_that_are_there(long claimed)
    {
        var bytes = _sources.Make("tone.flac", "-c:a", "flac");
        // STREAMINFO follows "fLaC" and its 4-byte block header; total samples are its bits 108..143 (bytes 21..25 of the file)
        Assert.Equal((long)(Seconds * 44100), ReadFlacTotalSamples(bytes));
        WriteFlacTotalSamples(bytes, claimed);

        var decoded = await Decode(bytes, "lying.flac");

        Assert.Equal("flac", decoded.SourceFormat);
        Assert.Equal(AudioResampler.OutputLength((long)(Seconds * 44100), 44100, 16000), decoded.Samples.Length);
        AssertTone(decoded, Seconds, 1e-9);
    }

    // ---- hours ----

    [Fact]
    public async Task An_hour_of_wav_decodes_in_bounded_memory()
    {
        // 1 h of 8-bit 16 kHz mono (57.6 MB): no resampling, so the decoder's own copies are what is measured
        const int rate = 16000;
        long frames = 3600L * rate;
        var wav = new TestWav(SampleKind.UInt8, 1, rate).Build([]);
        var bytes = new byte[wav.Length + frames];
        wav.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(bytes.Length - 8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), (uint)frames);
        bytes.AsSpan(44).Fill(160);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var decoded = await Decode(bytes, "hour.wav");
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(frames, decoded.Samples.LongLength);
        Assert.Equal(3600.0, decoded.DurationSeconds, 1e-9);
        Assert.Equal(32f / 128f, decoded.Samples[^1]);
        long output = frames * sizeof(float);
        Assert.True(allocated < output + output / 10, $"allocated {allocated / 1e6:F0} MB for {output / 1e6:F0} MB of output");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Hours_of_flac_over_the_duration_limit_stop_at_the_limit()
    {
        // 5 h of silence compresses to a small FLAC; ffmpeg's output is cut at the limit and nothing more is held
        string path = _sources.Dir.File("five-hours.flac");
        ExternalTools.Run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "18000", "-c:a", "flac", path);
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length < 20_000_000, $"{bytes.Length} bytes");

        var clock = Stopwatch.StartNew();
        var message = await Reason(bytes, "five-hours.flac", new AudioDecodeLimits(MaxSeconds: 1800));
        clock.Stop();

        Assert.Contains("longer than the limit of 1800 s", message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    // ---- files that end mid-frame ----

    [Fact]
    public async Task Extensible_wav_cut_mid_frame_decodes_the_whole_frames()
    {
        var bytes = _sources.Make("ext-pcm_s24le.wav", "-af", "pan=5.1|FL=c0|FR=c1|FC=c0|LFE=c1|BL=c0|BR=c1", "-c:a", "pcm_s24le");
        int dataOffset = bytes.AsSpan().IndexOf("data"u8) + 8;
        const int frames = 44100; // one second
        var cut = bytes[..(dataOffset + frames * 18 + 11)];

        var decoded = await Decode(cut, "cut.wav");

        Assert.Equal(AudioResampler.OutputLength(frames, 44100, 16000), decoded.Samples.Length);
    }

    [Theory]
    [InlineData("cbr.mp3", new[] { "-c:a", "libmp3lame", "-b:a", "128k" }, 0.08)]
    [InlineData("vbr.mp3", new[] { "-c:a", "libmp3lame", "-q:a", "4" }, 0.35)]
    [InlineData("tone.flac", new[] { "-c:a", "flac" }, 0.15)]
    [InlineData("faststart.m4a", new[] { "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart" }, 0.15)]
    public async Task Compressed_files_cut_mid_frame_decode_about_the_part_that_is_there(string name, string[] args, double tolerance)
    {
        var bytes = _sources.Make(name, args);
        long audioStart = AudioStart(name, bytes);
        int cut = (int)(audioStart + 0.6 * (bytes.Length - audioStart)) + 7; // +7: inside a frame, not on a boundary

        var decoded = await Decode(bytes[..cut], name);

        // the stream is close to constant bit rate, so the share of the audio bytes kept is the share of the time
        Assert.Equal(0.6 * Seconds, decoded.DurationSeconds, tolerance);
        Assert.All(decoded.Samples, s => Assert.True(float.IsFinite(s)));
    }

    [Theory]
    [InlineData("tone.opus", new[] { "-c:a", "libopus", "-b:a", "64k" })]
    [InlineData("tone.ogg", new[] { "-c:a", "libvorbis" })]
    public async Task Ogg_cut_mid_page_decodes_exactly_the_complete_pages(string name, string[] args)
    {
        var bytes = _sources.Make(name, args);
        var cut = bytes[..(int)(bytes.Length * 0.6 + 7)];
        // the last whole page's granule position says how many samples (at 48 kHz less the pre-skip for Opus, at the stream
        // rate for Vorbis) end there; ffmpeg drops the partial page after it (its checksum fails), NVorbis also decodes the
        // packets of it that are complete (Vorbis: at most one long block, 2048 samples, more)
        var (granule, pages) = LastCompleteOggGranule(cut);
        Assert.True(pages >= 3, $"{pages} complete pages");
        bool opus = name.EndsWith(".opus", StringComparison.Ordinal);
        double truth = opus ? (granule - BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(28 + 10))) / 48000.0 : granule / 44100.0;

        var decoded = await Decode(cut, name);

        Assert.InRange(decoded.DurationSeconds, truth - 0.002, truth + (opus ? 0.002 : 2048 / 44100.0));
        Assert.InRange(decoded.DurationSeconds, 0.5, 0.61 * Seconds);
    }

    [Fact]
    public async Task M4a_cut_before_its_index_fails_with_a_reason()
    {
        // without +faststart the 'moov' index is written last: a cut file has samples but no way to find them
        var bytes = _sources.Make("tone.m4a", "-c:a", "aac", "-b:a", "96k");

        var message = await Reason(bytes[..(bytes.Length / 2)], "cut.m4a");

        Assert.Contains("mp4", message);
        Assert.Contains("moov atom not found", message);
    }

    [Fact]
    public async Task Flac_cut_inside_its_header_fails_with_a_reason()
    {
        var bytes = _sources.Make("tone.flac", "-c:a", "flac");
        var message = await Reason(bytes[..30], "cut.flac");
        Assert.Contains("flac input could not be decoded", message);
    }

    /// <summary>Where the coded audio begins: after FLAC's metadata blocks, an MP3's ID3v2 tag, or at an MP4's 'mdat' box.</summary>
    private static long AudioStart(string name, byte[] b)
    {
        if (name.EndsWith(".flac", StringComparison.Ordinal))
        {
            long pos = 4;
            while (true)
            {
                bool last = (b[pos] & 0x80) != 0;
                pos += 4 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]);
                if (last)
                {
                    return pos;
                }
            }
        }
        if (name.EndsWith(".mp3", StringComparison.Ordinal))
        {
            return b.AsSpan().StartsWith("ID3"u8) ? 10 + ((b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]) : 0;
        }
        return b.AsSpan().IndexOf("mdat"u8) + 4;
    }

    private static (long Granule, int Pages) LastCompleteOggGranule(byte[] b)
    {
        long granule = 0;
        int pos = 0, pages = 0;
        while (pos + 27 <= b.Length && b.AsSpan(pos).StartsWith("OggS"u8))
        {
            int segments = b[pos + 26];
            if (pos + 27 + segments > b.Length)
            {
                break;
            }
            int body = 0;
            for (int i = 0; i < segments; i++)
            {
                body += b[pos + 27 + i];
            }
            int next = pos + 27 + segments + body;
            if (next > b.Length)
            {
                break;
            }
            long g = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(pos + 6));
            granule = g >= 0 ? g : granule;
            pages++;
            pos = next;
        }
        return (granule, pages);
    }

    [Fact]
    public async Task A_reason_is_one_line_even_when_the_name_holds_line_breaks()
    {
        var ex = await Assert.ThrowsAsync<AudioDecodeException>(() => Decode(new TestWav(SampleKind.Int16, 1, 16000).Build([]), "field\r\nrecording.wav"));
        Assert.Equal("field | recording.wav: WAV 'data' chunk is empty: the file holds no audio samples", ex.Message);
    }

    private static byte[] Chunk(string id, byte[] body) =>
        [.. System.Text.Encoding.ASCII.GetBytes(id), .. BitConverter.GetBytes((uint)body.Length), .. body, .. (body.Length % 2 == 1 ? new byte[1] : [])];

    private static byte[] WithRiffSize(byte[] wav)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(wav.AsSpan(4), (uint)(wav.Length - 8));
        return wav;
    }

    private static long ReadFlacTotalSamples(byte[] b) =>
        ((long)(b[21] & 0x0F) << 32) | BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(22));

    private static void WriteFlacTotalSamples(byte[] b, long value)
    {
        b[21] = (byte)((b[21] & 0xF0) | (int)((value >> 32) & 0x0F));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(22), (uint)value);
    }
}
