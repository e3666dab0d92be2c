using NLayer;
using NVorbis;

namespace KimiAudio.Audio;

/// <summary>Mono audio at the source rate, before the final clean-up and resampling.</summary>
internal sealed record SourceAudio(float[] Samples, int SampleRate, int Channels, string Format);

/// <summary>MP3 (NLayer) and Ogg Vorbis (NVorbis): decoded in process from the bytes.</summary>
internal static class InProcessDecoders
{
    private const int ChunkFrames = 8192;

    public static SourceAudio DecodeMp3(ReadOnlyMemory<byte> data, AudioDecodeLimits limits, CancellationToken ct)
    {
        using var mpeg = new MpegFile(AudioDecoder.AsStream(data));
        if (limits.Region is { } region) mpeg.Time = TimeSpan.FromSeconds(region.OffsetSeconds);
        return Pull("mp3", mpeg.Channels, mpeg.SampleRate, limits, ct, mpeg.ReadSamples);
    }

    public static SourceAudio DecodeVorbis(ReadOnlyMemory<byte> data, AudioDecodeLimits limits, CancellationToken ct)
    {
        using var vorbis = new VorbisReader(AudioDecoder.AsStream(data), closeOnDispose: true);
        if (limits.Region is { } region)
        {
            if (region.OffsetSeconds >= vorbis.TotalTime.TotalSeconds) throw region.StartsAfterEnd(vorbis.TotalTime.TotalSeconds);
            vorbis.TimePosition = TimeSpan.FromSeconds(region.OffsetSeconds);
        }
        return Pull("ogg/vorbis", vorbis.Channels, vorbis.SampleRate, limits, ct, vorbis.ReadSamples);
    }

    // Reads interleaved float samples until the decoder returns 0, averaging channels into a bounded mono buffer.
    private static SourceAudio Pull(string format, int channels, int rate, AudioDecodeLimits limits, CancellationToken ct, Func<float[], int, int, int> read)
    {
        if (channels <= 0 || channels > WavHeaderReader.MaxChannels)
        {
            throw new AudioDecodeException($"{format} stream reports {channels} channels");
        }
        AudioDecoder.CheckSampleRate(rate, $"{format} stream");
        var mono = new MonoBuffer(rate, limits.MaxSeconds);
        // a region: the decoder was seeked to its start; stop once its frames are read
        long wanted = limits.Region?.Frames(rate).Count ?? long.MaxValue;
        var chunk = new float[ChunkFrames * channels];
        int pending = 0; // samples of an incomplete frame carried to the next read
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            int got = read(chunk, pending, chunk.Length - pending);
            if (got <= 0)
            {
                break;
            }
            int total = pending + got;
            int frames = (int)Math.Min(total / channels, wanted - mono.Count);
            var dest = mono.GetAppendSpan(frames);
            for (int f = 0; f < frames; f++)
            {
                float sum = 0;
                for (int c = 0; c < channels; c++)
                {
                    sum += chunk[f * channels + c];
                }
                dest[f] = sum / channels;
            }
            mono.Advance(frames);
            pending = total - frames * channels;
            Array.Copy(chunk, frames * channels, chunk, 0, pending);
            if (mono.Count >= wanted)
            {
                break;
            }
        }
        if (limits.Region is { } r && mono.Count == 0)
        {
            throw r.StartsAfterEnd();
        }
        return new SourceAudio(mono.Samples.ToArray(), rate, channels, format);
    }
}
