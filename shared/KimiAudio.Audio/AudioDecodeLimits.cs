namespace KimiAudio.Audio;

/// <summary>Bounds applied while decoding; exceeding one fails the input with a clear reason.</summary>
public sealed record AudioDecodeLimits(double MaxSeconds = 4 * 3600, long MaxBytes = 2L * 1024 * 1024 * 1024, int TargetSampleRate = AudioDecoder.ModelSampleRate)
{
    /// <summary>Longest time the external decoder (ffmpeg) may run for one input before it is killed and the input fails.</summary>
    public TimeSpan ExternalDecoderTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The ffmpeg executable (a name on PATH or a full path), used for FLAC and every format not decoded in process.</summary>
    public string FfmpegPath { get; init; } = "ffmpeg";

    /// <summary>Decode only this region of the input (null: all of it); <see cref="MaxSeconds"/> then bounds the region.</summary>
    public AudioRegion? Region { get; init; }
}
