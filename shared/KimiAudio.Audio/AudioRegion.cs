namespace KimiAudio.Audio;

/// <summary>
/// A region of a longer recording (NeMo's <c>offset</c> + <c>duration</c>): only these seconds are decoded.
/// <paramref name="DurationSeconds"/> null = to the end of the recording.
/// </summary>
public sealed record AudioRegion(double OffsetSeconds, double? DurationSeconds)
{
    /// <summary>The region's first frame and frame count (null: to the end) at <paramref name="sampleRate"/>.</summary>
    internal (long Start, long? Count) Frames(int sampleRate)
        => ((long)Math.Round(OffsetSeconds * sampleRate), DurationSeconds is { } d ? Math.Max(1, (long)Math.Round(d * sampleRate)) : null);

    internal AudioDecodeException StartsAfterEnd(double? audioSeconds = null)
        => new($"the region starts at {OffsetSeconds:0.###} s, at or after the end of the audio" + (audioSeconds is { } s ? $" ({s:0.###} s)" : ""));

    internal void Validate()
    {
        if (!double.IsFinite(OffsetSeconds) || OffsetSeconds < 0) throw new ArgumentException($"region offset must be a finite number of seconds >= 0, not {OffsetSeconds}");
        if (DurationSeconds is { } d && (!double.IsFinite(d) || d <= 0)) throw new ArgumentException($"region duration must be a finite number of seconds > 0, not {d}");
    }
}
