using System.Runtime.InteropServices;

namespace KimiAudio.Audio;

/// <summary>Decodes WAV/RF64/BW64 (PCM 8/16/24/32, float), MP3, FLAC, Ogg (Vorbis, Opus) and MP4/M4A to 16 kHz mono float samples.</summary>
/// <remarks>
/// Decoders: WAV PCM/float (plain and WAVE_FORMAT_EXTENSIBLE) is parsed here; MP3 by NLayer and Ogg Vorbis by NVorbis in
/// process (ffmpeg is tried when they fail); FLAC, Opus, other WAV codecs and any unrecognised content by ffmpeg.
/// Channels are averaged to mono, then <see cref="AudioResampler"/> (windowed sinc) converts to the target rate and samples
/// are clipped to [-1, 1]. NaN/Inf samples are replaced by 0 when they are at most 1 % of the samples (counted in
/// <see cref="DecodedAudio.ReplacedNonFiniteSamples"/>); more than that rejects the input as corrupt. NaN never leaves here.
/// </remarks>
public static class AudioDecoder
{
    public const int ModelSampleRate = 16000;
    public const int MinSampleRate = 1000;
    public const int MaxSampleRate = 1_000_000;

    /// <summary>Largest share of NaN/Inf samples that is repaired (replaced by 0) instead of rejecting the input.</summary>
    public const double MaxNonFiniteFraction = 0.01;

    /// <summary>
    /// Decodes <paramref name="data"/>; the format is sniffed from the bytes, <paramref name="nameHint"/> is only a hint.
    /// Throws <see cref="AudioDecodeException"/> with a reason for anything that is not decodable audio within the limits.
    /// </summary>
    /// <exception cref="AudioDecodeException">The input is empty, corrupt, unsupported or over a limit (permanent).</exception>
    /// <exception cref="InvalidOperationException">ffmpeg is needed but cannot be started (a host problem, not the input's).</exception>
    public static async Task<DecodedAudio> DecodeAsync(ReadOnlyMemory<byte> data, string? nameHint, AudioDecodeLimits limits, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ValidateLimits(limits);
        limits.Region?.Validate();
        ct.ThrowIfCancellationRequested();
        try
        {
            var source = await DecodeSourceAsync(data, limits, ct);
            return Finish(source, limits);
        }
        catch (AudioDecodeException ex)
        {
            // the reason goes into one database field and one log line: one line, whatever a decoder or a key holds
            var reason = string.IsNullOrWhiteSpace(nameHint) ? ex.Message : $"{nameHint}: {ex.Message}";
            throw new AudioDecodeException(OneLine(reason), ex.InnerException);
        }
    }

    private static string OneLine(string text) =>
        string.Join(" | ", text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static async Task<SourceAudio> DecodeSourceAsync(ReadOnlyMemory<byte> data, AudioDecodeLimits limits, CancellationToken ct)
    {
        if (data.IsEmpty)
        {
            throw new AudioDecodeException("the input is empty (0 bytes)");
        }
        if (data.Length > limits.MaxBytes)
        {
            throw new AudioDecodeException($"the input is {data.Length} bytes, over the limit of {limits.MaxBytes} bytes");
        }
        switch (AudioFormatSniffer.Sniff(data.Span))
        {
            case AudioContainer.Wav:
                var wav = WavHeaderReader.Read(data.Span, complete: true);
                return wav.Header is { } header
                    ? DecodeWav(data.Span, header, limits)
                    : await FfmpegDecoder.DecodeAsync(data, wav.OtherCodec!, limits, ct);
            case AudioContainer.Mp3:
                return await WithFfmpegFallbackAsync(data, "mp3", limits, ct, InProcessDecoders.DecodeMp3);
            case AudioContainer.OggVorbis:
                return await WithFfmpegFallbackAsync(data, "ogg/vorbis", limits, ct, InProcessDecoders.DecodeVorbis);
            case AudioContainer.Flac:
                return await FfmpegDecoder.DecodeAsync(data, "flac", limits, ct);
            case AudioContainer.OggOpus:
                return await FfmpegDecoder.DecodeAsync(data, "ogg/opus", limits, ct);
            case AudioContainer.OggOther:
                return await FfmpegDecoder.DecodeAsync(data, "ogg", limits, ct);
            case AudioContainer.Mp4:
                return await FfmpegDecoder.DecodeAsync(data, "mp4", limits, ct);
            default:
                return await FfmpegDecoder.DecodeAsync(data, "unrecognised-format", limits, ct);
        }
    }

    private static SourceAudio DecodeWav(ReadOnlySpan<byte> bytes, WavHeader h, AudioDecodeLimits limits)
    {
        // The data chunk's size may claim more than the file holds: decode the whole frames that are really there.
        long available = bytes.Length - h.DataOffset;
        long present = Math.Min(h.DeclaredDataLength, available);
        long frames = present / h.BlockAlign;
        if (frames == 0)
        {
            throw new AudioDecodeException(present == 0
                ? "WAV 'data' chunk is empty: the file holds no audio samples"
                : $"WAV 'data' chunk holds {present} bytes, less than one sample frame ({h.BlockAlign} bytes for {h.Channels} channel(s) of {h.Describe()}); the file is truncated");
        }
        long first = 0;
        if (limits.Region is { } region)
        {
            // only the region's frames are converted
            var (start, count) = region.Frames(h.SampleRate);
            if (start >= frames) throw region.StartsAfterEnd((double)frames / h.SampleRate);
            first = start;
            frames = Math.Min(frames - start, count ?? long.MaxValue);
        }
        MonoBuffer.ThrowIfOverLimit(frames, h.SampleRate, limits.MaxSeconds);
        var samples = new float[frames];
        PcmToMono.Convert(bytes.Slice((int)(h.DataOffset + first * h.BlockAlign), (int)frames * h.BlockAlign), h, samples);
        return new SourceAudio(samples, h.SampleRate, h.Channels, h.Describe());
    }

    // In-process decoders cover the common streams; anything they choke on gets a second chance in ffmpeg.
    private static async Task<SourceAudio> WithFfmpegFallbackAsync(
        ReadOnlyMemory<byte> data, string format, AudioDecodeLimits limits, CancellationToken ct,
        Func<ReadOnlyMemory<byte>, AudioDecodeLimits, CancellationToken, SourceAudio> decode)
    {
        string firstError;
        try
        {
            var decoded = decode(data, limits, ct);
            if (decoded.Samples.Length > 0)
            {
                return decoded;
            }
            firstError = "no audio frames found";
        }
        catch (Exception ex) when (ex is not AudioDecodeException and not OperationCanceledException)
        {
            firstError = ex.Message;
        }
        try
        {
            return await FfmpegDecoder.DecodeAsync(data, format, limits, ct);
        }
        catch (AudioDecodeException ex)
        {
            throw new AudioDecodeException($"{format} data is corrupt or unsupported (in-process decoder: {firstError}; {ex.Message})", ex);
        }
    }

    private static DecodedAudio Finish(SourceAudio source, AudioDecodeLimits limits)
    {
        var samples = source.Samples;
        if (samples.Length == 0)
        {
            if (limits.Region is { } region) throw region.StartsAfterEnd();
            throw new AudioDecodeException($"{source.Format} input holds no audio frames (0 samples decoded)");
        }
        int replaced = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            if (!float.IsFinite(samples[i]))
            {
                samples[i] = 0;
                replaced++;
            }
        }
        if (replaced > MaxNonFiniteFraction * samples.Length)
        {
            throw new AudioDecodeException(
                $"{replaced} of {samples.Length} samples are NaN or infinite ({100.0 * replaced / samples.Length:0.#} %); the {source.Format} file is corrupt");
        }
        // the source buffer is ours: at the target rate it is the output (an hour of 16 kHz audio is 230 MB, not copied again)
        var output = source.SampleRate == limits.TargetSampleRate ? samples : AudioResampler.Resample(samples, source.SampleRate, limits.TargetSampleRate);
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = Math.Clamp(output[i], -1f, 1f);
        }
        return new DecodedAudio(output, limits.TargetSampleRate, source.Format, source.SampleRate, source.Channels)
        {
            ReplacedNonFiniteSamples = replaced,
        };
    }

    internal static void CheckSampleRate(long rate, string where)
    {
        if (rate < MinSampleRate || rate > MaxSampleRate)
        {
            throw new AudioDecodeException($"{where} gives a sample rate of {rate} Hz; supported rates are {MinSampleRate}..{MaxSampleRate} Hz");
        }
    }

    internal static MemoryStream AsStream(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    private static void ValidateLimits(AudioDecodeLimits limits)
    {
        if (!(limits.MaxSeconds > 0) || limits.MaxBytes <= 0 || limits.TargetSampleRate is < MinSampleRate or > MaxSampleRate
            || limits.ExternalDecoderTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"invalid audio decode limits: {limits}", nameof(limits));
        }
    }
}
