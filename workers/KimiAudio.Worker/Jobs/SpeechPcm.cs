using System.Buffers.Binary;

namespace KimiAudio.Worker.Jobs;

/// <summary>Float speech ↔ 16-bit little-endian PCM, the form segment checkpoints keep it in.</summary>
public static class SpeechPcm
{
    public static byte[] ToPcm16(ReadOnlySpan<float> samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
        {
            var s = float.IsFinite(samples[i]) ? Math.Clamp(samples[i], -1f, 1f) : 0f;
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 2), (short)MathF.Round(s * short.MaxValue));
        }
        return bytes;
    }

    public static float[] FromPcm16(ReadOnlySpan<byte> pcm)
    {
        var samples = new float[pcm.Length / 2];
        for (var i = 0; i < samples.Length; i++)
            samples[i] = BinaryPrimitives.ReadInt16LittleEndian(pcm[(i * 2)..]) / (float)short.MaxValue;
        return samples;
    }
}
