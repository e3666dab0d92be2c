namespace KimiAudio.Audio;

/// <summary>Writes canonical little-endian RIFF/WAVE files.</summary>
public static class WavWriter
{
    /// <summary>16-bit PCM mono WAV bytes of <paramref name="samples"/> (clipped to [-1, 1]).</summary>
    public static byte[] Pcm16Mono(ReadOnlySpan<float> samples, int sampleRate)
        => throw new NotImplementedException("owned by the audio-decoding work item");
}
