using System.Buffers.Binary;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>Small WAV files made in code.</summary>
public static class TestAudio
{
    /// <summary>16-bit PCM mono WAV of a tone, <paramref name="seconds"/> long at <paramref name="rate"/> Hz.</summary>
    public static byte[] ToneWav(double seconds, int rate = 16000, double frequency = 440)
    {
        var n = (int)Math.Round(seconds * rate);
        var bytes = new byte[44 + n * 2];
        var s = bytes.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], 36 + n * 2);
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], rate);
        BinaryPrimitives.WriteInt32LittleEndian(s[28..], rate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[32..], 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], n * 2);
        for (var i = 0; i < n; i++)
            BinaryPrimitives.WriteInt16LittleEndian(s[(44 + i * 2)..], (short)(8000 * Math.Sin(2 * Math.PI * frequency * i / rate)));
        return bytes;
    }

    /// <summary>Bytes that are no audio format at all, named like a WAV.</summary>
    public static byte[] Garbage(int length = 4096)
    {
        var bytes = new byte[length];
        new Random(1234).NextBytes(bytes);
        return bytes;
    }
}
