using System.Buffers.Binary;

namespace KimiAudio.Audio.Tests;

public enum SampleKind { UInt8, Int16, Int24, Int32, Float32, Float64 }

/// <summary>
/// Builds WAV files in code, including broken ones: every header field can be overridden independently of the real data.
/// </summary>
public sealed record TestWav(SampleKind Kind, int Channels, int SampleRate)
{
    public bool Extensible { get; init; }
    public int? HeaderChannels { get; init; }
    public long? HeaderSampleRate { get; init; }
    public int? HeaderBlockAlign { get; init; }
    public uint? HeaderDataSize { get; init; }
    public ushort? HeaderFormatTag { get; init; }

    public int BytesPerSample => Kind switch
    {
        SampleKind.UInt8 => 1,
        SampleKind.Int16 => 2,
        SampleKind.Int24 => 3,
        SampleKind.Int32 or SampleKind.Float32 => 4,
        _ => 8,
    };

    /// <summary>WAV bytes of <paramref name="interleaved"/> samples in [-1, 1] (frames × channels).</summary>
    public byte[] Build(ReadOnlySpan<double> interleaved)
    {
        int bps = BytesPerSample;
        var data = new byte[interleaved.Length * bps];
        for (int i = 0; i < interleaved.Length; i++)
        {
            Write(data.AsSpan(i * bps, bps), interleaved[i]);
        }
        bool isFloat = Kind is SampleKind.Float32 or SampleKind.Float64;
        ushort tag = HeaderFormatTag ?? (ushort)(Extensible ? 0xFFFE : isFloat ? 3 : 1);
        int fmtSize = Extensible ? 40 : 16;
        int channels = HeaderChannels ?? Channels;
        var bytes = new byte[12 + 8 + fmtSize + 8 + data.Length];
        var h = bytes.AsSpan();
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(bytes.Length - 8));
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)fmtSize);
        var f = h[20..];
        BinaryPrimitives.WriteUInt16LittleEndian(f, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(f[2..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(f[4..], (uint)(HeaderSampleRate ?? SampleRate));
        BinaryPrimitives.WriteUInt32LittleEndian(f[8..], (uint)(SampleRate * Channels * bps));
        BinaryPrimitives.WriteUInt16LittleEndian(f[12..], (ushort)(HeaderBlockAlign ?? Channels * bps));
        BinaryPrimitives.WriteUInt16LittleEndian(f[14..], (ushort)(8 * bps));
        if (Extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(f[16..], 22);
            BinaryPrimitives.WriteUInt16LittleEndian(f[18..], (ushort)(8 * bps));
            BinaryPrimitives.WriteUInt32LittleEndian(f[20..], Channels == 2 ? 3u : 4u);
            BinaryPrimitives.WriteUInt16LittleEndian(f[24..], (ushort)(isFloat ? 3 : 1));
            byte[] suffix = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];
            suffix.CopyTo(f[26..]);
        }
        var d = h[(20 + fmtSize)..];
        "data"u8.CopyTo(d);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], HeaderDataSize ?? (uint)data.Length);
        data.CopyTo(d[8..]);
        return bytes;
    }

    private void Write(Span<byte> s, double v)
    {
        switch (Kind)
        {
            case SampleKind.UInt8: s[0] = (byte)Math.Clamp(Math.Round(v * 127 + 128), 0, 255); break;
            case SampleKind.Int16: BinaryPrimitives.WriteInt16LittleEndian(s, (short)Math.Clamp(Math.Round(v * 32767), -32768, 32767)); break;
            case SampleKind.Int24:
                int x = (int)Math.Clamp(Math.Round(v * 8388607), -8388608, 8388607);
                s[0] = (byte)x; s[1] = (byte)(x >> 8); s[2] = (byte)(x >> 16);
                break;
            case SampleKind.Int32: BinaryPrimitives.WriteInt32LittleEndian(s, (int)Math.Clamp(Math.Round(v * 2147483647.0), int.MinValue, int.MaxValue)); break;
            case SampleKind.Float32: BinaryPrimitives.WriteSingleLittleEndian(s, (float)v); break;
            default: BinaryPrimitives.WriteDoubleLittleEndian(s, v); break;
        }
    }
}
