using System.Buffers.Binary;

namespace KimiAudio.Audio;

internal enum PcmEncoding { UInt8, Int16, Int24, Int32, Float32, Float64 }

/// <summary>Where the samples of a RIFF/WAVE file are and how they are stored.</summary>
/// <param name="DeclaredDataLength">The data chunk's size (from 'ds64' for RF64/BW64; <see cref="long.MaxValue"/> when the field is 0,
/// i.e. never written); it can lie (larger than the file, or 0xFFFFFFFF from a pipe).</param>
internal sealed record WavHeader(PcmEncoding Encoding, int Channels, int SampleRate, int BlockAlign, long DataOffset, long DeclaredDataLength)
{
    public string Describe() => Encoding switch
    {
        PcmEncoding.UInt8 => "wav/pcm8",
        PcmEncoding.Int16 => "wav/pcm16",
        PcmEncoding.Int24 => "wav/pcm24",
        PcmEncoding.Int32 => "wav/pcm32",
        PcmEncoding.Float32 => "wav/float32",
        _ => "wav/float64",
    };
}

/// <summary>Outcome of reading a WAV header: the header, a codec this library leaves to ffmpeg, or more bytes needed.</summary>
internal readonly record struct WavHeaderResult(WavHeader? Header, string? OtherCodec, bool NeedMoreBytes);

/// <summary>
/// Reads the RIFF/WAVE chunk list without trusting any size field beyond the bytes actually present.
/// Supported: PCM 8/16/24/32-bit and IEEE float 32/64, plain or WAVE_FORMAT_EXTENSIBLE.
/// </summary>
internal static class WavHeaderReader
{
    public const int MaxChannels = 64;
    private const ushort TagPcm = 1, TagFloat = 3, TagExtensible = 0xFFFE;

    // KSDATAFORMAT_SUBTYPE_* GUIDs end with these 14 bytes; their first two bytes are the format tag.
    private static ReadOnlySpan<byte> SubFormatSuffix => [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    /// <summary>RIFF/WAVE, or its 64-bit forms RF64 (EBU Tech 3306) and BW64 (ITU-R BS.2088), which keep the sizes in a 'ds64' chunk.</summary>
    public static bool LooksLikeWav(ReadOnlySpan<byte> b) =>
        b.Length >= 12 && (Is64BitForm(b) || b[..4].SequenceEqual("RIFF"u8)) && b.Slice(8, 4).SequenceEqual("WAVE"u8);

    private static bool Is64BitForm(ReadOnlySpan<byte> b) => b[..4].SequenceEqual("RF64"u8) || b[..4].SequenceEqual("BW64"u8);

    /// <param name="bytes">The file's first bytes (all of it for an in-memory file).</param>
    /// <param name="complete">False while more bytes may follow (a pipe): a missing data chunk then asks for more.</param>
    public static WavHeaderResult Read(ReadOnlySpan<byte> bytes, bool complete)
    {
        if (!LooksLikeWav(bytes))
        {
            return !complete && bytes.Length < 12 ? new(null, null, true) : throw new AudioDecodeException("not a RIFF/WAVE file");
        }

        (ushort Tag, int Channels, int Rate, int BlockAlign, int Bits)? fmt = null;
        bool is64 = Is64BitForm(bytes);
        long? ds64DataSize = null;
        long pos = 12;
        while (pos + 8 <= bytes.Length)
        {
            var id = bytes.Slice((int)pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice((int)pos + 4, 4));
            long body = pos + 8;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16)
                {
                    throw new AudioDecodeException($"WAV 'fmt ' chunk is {size} bytes, shorter than the 16 every WAV format needs");
                }
                if (body + Math.Min(size, 40) > bytes.Length)
                {
                    if (!complete)
                    {
                        return new(null, null, true);
                    }
                    if (body + 16 > bytes.Length)
                    {
                        throw new AudioDecodeException("WAV file is truncated inside its 'fmt ' chunk");
                    }
                }
                var f = bytes[(int)body..(int)Math.Min(bytes.Length, body + size)];
                var parsed = ParseFmt(f);
                if (parsed.OtherCodec is not null)
                {
                    return new(null, parsed.OtherCodec, false);
                }
                fmt = parsed.Fmt;
            }
            else if (is64 && id.SequenceEqual("ds64"u8))
            {
                // riff size (8 bytes), data size (8), sample count (8), then an optional table of other big chunks
                if (size < 24)
                {
                    throw new AudioDecodeException($"RF64/BW64 'ds64' chunk is {size} bytes, shorter than the 24 it needs");
                }
                if (body + 24 > bytes.Length)
                {
                    return !complete ? new(null, null, true) : throw new AudioDecodeException("RF64/BW64 file is truncated inside its 'ds64' chunk");
                }
                ulong dataSize = BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice((int)body + 8, 8));
                ds64DataSize = (long)Math.Min(dataSize, long.MaxValue);
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (fmt is not { } v)
                {
                    throw new AudioDecodeException("WAV 'data' chunk comes before the 'fmt ' chunk that describes it");
                }
                if (is64 && size == uint.MaxValue)
                {
                    size = ds64DataSize ?? throw new AudioDecodeException(
                        "RF64/BW64 file has no 'ds64' chunk before its 'data' chunk, so the size of the audio is unknown");
                }
                else if (size == 0)
                {
                    // a recorder that stopped before finishing the header (or wrote to a pipe) leaves 0: read to the end, as ffmpeg does
                    size = long.MaxValue;
                }
                return new(Build(v, body, size), null, false);
            }
            pos = body + size + (size & 1);
        }
        if (!complete)
        {
            return new(null, null, true);
        }
        throw new AudioDecodeException(fmt is null
            ? "WAV file has no 'fmt ' chunk (truncated or not audio)"
            : "WAV file has no 'data' chunk (truncated or not audio)");
    }

    private static ((ushort, int, int, int, int)? Fmt, string? OtherCodec) ParseFmt(ReadOnlySpan<byte> f)
    {
        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(f);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(f[2..]);
        long rate = BinaryPrimitives.ReadUInt32LittleEndian(f[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(f[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(f[14..]);

        if (channels == 0)
        {
            throw new AudioDecodeException("WAV header says the audio has 0 channels");
        }
        if (channels > MaxChannels)
        {
            throw new AudioDecodeException($"WAV header says the audio has {channels} channels; at most {MaxChannels} are supported");
        }
        AudioDecoder.CheckSampleRate(rate, "WAV header");

        ushort effective = tag;
        if (tag == TagExtensible)
        {
            if (f.Length < 40)
            {
                throw new AudioDecodeException("WAV header is WAVE_FORMAT_EXTENSIBLE but its 'fmt ' chunk is too short to name the sample format");
            }
            var guid = f.Slice(24, 16);
            effective = BinaryPrimitives.ReadUInt16LittleEndian(guid);
            if (!guid[2..].SequenceEqual(SubFormatSuffix))
            {
                return (null, "wav/extensible-unknown");
            }
        }
        if (effective != TagPcm && effective != TagFloat)
        {
            return (null, $"wav/format-0x{effective:x4}");
        }
        return ((effective, channels, (int)rate, blockAlign, bits), null);
    }

    private static WavHeader Build((ushort Tag, int Channels, int Rate, int BlockAlign, int Bits) v, long dataOffset, long dataSize)
    {
        PcmEncoding? encoding = (v.Tag, v.Bits) switch
        {
            (TagPcm, 8) => PcmEncoding.UInt8,
            (TagPcm, 16) => PcmEncoding.Int16,
            (TagPcm, 24) => PcmEncoding.Int24,
            (TagPcm, 32) => PcmEncoding.Int32,
            (TagFloat, 32) => PcmEncoding.Float32,
            (TagFloat, 64) => PcmEncoding.Float64,
            _ => null,
        };
        if (encoding is not { } e)
        {
            string kind = v.Tag == TagPcm ? "integer PCM" : "float";
            throw new AudioDecodeException($"WAV {kind} with {v.Bits} bits per sample is not supported (integer PCM: 8/16/24/32, float: 32/64)");
        }
        int expectedAlign = v.Channels * (v.Bits / 8);
        if (v.BlockAlign != 0 && v.BlockAlign != expectedAlign)
        {
            throw new AudioDecodeException(
                $"WAV header is inconsistent: block align {v.BlockAlign} bytes, but {v.Channels} channels of {v.Bits} bits need {expectedAlign}");
        }
        return new WavHeader(e, v.Channels, v.Rate, expectedAlign, dataOffset, dataSize);
    }
}
