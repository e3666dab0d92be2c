namespace KimiAudio.Audio;

/// <summary>Audio decoded and converted to mono float samples in [-1, 1] at <see cref="SampleRate"/>.</summary>
public sealed record DecodedAudio(float[] Samples, int SampleRate, string SourceFormat, int SourceSampleRate, int SourceChannels)
{
    public double DurationSeconds => (double)Samples.Length / SampleRate;

    /// <summary>NaN or infinite source samples that were replaced by silence (0). Inputs with many of them are rejected instead.</summary>
    public int ReplacedNonFiniteSamples { get; init; }
}
