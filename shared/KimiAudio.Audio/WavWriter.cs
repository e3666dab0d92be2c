using System.Buffers.Binary;

namespace KimiAudio.Audio;

/// <summary>Writes canonical little-endian RIFF/WAVE files.</summary>
public static class WavWriter
{
    private const int HeaderBytes = 44;

    /// <summary>16-bit PCM mono WAV bytes of <paramref name="samples"/> (clipped to [-1, 1]).</summary>
    /// <remarks>Canonical 44-byte header. Samples are scaled by 32767 and rounded; NaN is written as 0.</remarks>
    public static byte[] Pcm16Mono(ReadOnlySpan<float> samples, int sampleRate)
    {
        var bytes = Header(samples.Length, sampleRate, formatTag: 1, bytesPerSample: 2);
        var data = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < samples.Length; i++)
        {
            float s = float.IsNaN(samples[i]) ? 0f : Math.Clamp(samples[i], -1f, 1f);
            BinaryPrimitives.WriteInt16LittleEndian(data[(2 * i)..], (short)MathF.Round(s * 32767f));
        }
        return bytes;
    }

    /// <summary>32-bit IEEE float mono WAV bytes of <paramref name="samples"/>, unchanged (canonical 44-byte header).</summary>
    public static byte[] Float32Mono(ReadOnlySpan<float> samples, int sampleRate)
    {
        var bytes = Header(samples.Length, sampleRate, formatTag: 3, bytesPerSample: 4);
        var data = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], samples[i]);
        }
        return bytes;
    }

    private static byte[] Header(int sampleCount, int sampleRate, ushort formatTag, int bytesPerSample)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        long dataBytes = (long)sampleCount * bytesPerSample;
        if (dataBytes > uint.MaxValue - HeaderBytes || HeaderBytes + dataBytes > Array.MaxLength)
        {
            throw new ArgumentException($"{sampleCount} samples do not fit in one WAV file", nameof(sampleCount));
        }
        var bytes = new byte[HeaderBytes + dataBytes];
        var h = bytes.AsSpan();
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(36 + dataBytes));
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], formatTag);
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], 1); // channels
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], (uint)(sampleRate * bytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], (ushort)bytesPerSample);
        BinaryPrimitives.WriteUInt16LittleEndian(h[34..], (ushort)(8 * bytesPerSample));
        "data"u8.CopyTo(h[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], (uint)dataBytes);
        return bytes;
    }
}
