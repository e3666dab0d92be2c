using System.Buffers.Binary;

namespace KimiAudio.Audio;

/// <summary>Interleaved WAV sample bytes → mono float, averaging the channels of each frame.</summary>
internal static class PcmToMono
{
    /// <summary>Converts the whole frames of <paramref name="bytes"/> into <paramref name="dest"/>; returns the frame count.</summary>
    public static int Convert(ReadOnlySpan<byte> bytes, WavHeader h, Span<float> dest)
    {
        int frames = bytes.Length / h.BlockAlign;
        int channels = h.Channels;
        int width = h.BlockAlign / channels;
        float inv = 1f / channels;
        for (int i = 0; i < frames; i++)
        {
            var frame = bytes.Slice(i * h.BlockAlign, h.BlockAlign);
            float sum = 0;
            for (int c = 0; c < channels; c++)
            {
                sum += Sample(frame.Slice(c * width, width), h.Encoding);
            }
            dest[i] = channels == 1 ? sum : sum * inv;
        }
        return frames;
    }

    private static float Sample(ReadOnlySpan<byte> s, PcmEncoding encoding) => encoding switch
    {
        PcmEncoding.UInt8 => (s[0] - 128) / 128f,
        PcmEncoding.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
        PcmEncoding.Int24 => (s[0] | (s[1] << 8) | ((sbyte)s[2] << 16)) / 8388608f,
        PcmEncoding.Int32 => (float)(BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0),
        PcmEncoding.Float32 => BinaryPrimitives.ReadSingleLittleEndian(s),
        _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
    };
}
