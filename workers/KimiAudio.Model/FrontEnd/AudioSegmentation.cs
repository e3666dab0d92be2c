namespace KimiAudio.Model.FrontEnd;

/// <summary>One 30 s window of an audio signal: where it starts, how many real samples it holds, and its token count.</summary>
/// <param name="Start">first sample index in the whole signal.</param>
/// <param name="Length">real samples in the segment (1 … <see cref="AudioSegmentation.SegmentSamples"/>).</param>
public readonly record struct AudioSegment(int Start, int Length)
{
    /// <summary>12.5 Hz tokens this segment contributes: ceil(Length / 1280), as the reference computes it.</summary>
    public int TokenLength => AudioSegmentation.TokenLength(Length);
}

/// <summary>
/// Splits 16 kHz audio into the reference's 30 s segments: segment k covers samples [480000·k, 480000·(k+1)) for as long
/// as 480000·k &lt; N. Both the Whisper path and the GLM tokenizer use this split.
/// </summary>
public static class AudioSegmentation
{
    /// <summary>Sample rate every front-end stage expects.</summary>
    public const int SampleRate = 16000;

    /// <summary>30 s at 16 kHz.</summary>
    public const int SegmentSamples = 30 * SampleRate;

    /// <summary>Samples per 12.5 Hz token (hop 160 × conv stride 2 × frame stack 4).</summary>
    public const int SamplesPerToken = 160 * 8;

    /// <summary>Tokens for a segment of <paramref name="length"/> samples: (L − 1) // 1280 + 1.</summary>
    public static int TokenLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return (length - 1) / SamplesPerToken + 1;
    }

    /// <summary>The segments of a signal of <paramref name="sampleCount"/> samples (none for an empty signal).</summary>
    public static IReadOnlyList<AudioSegment> Split(int sampleCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleCount);
        var segments = new List<AudioSegment>();
        for (long start = 0; start < sampleCount; start += SegmentSamples)
            segments.Add(new AudioSegment((int)start, (int)Math.Min(SegmentSamples, sampleCount - start)));
        return segments;
    }

    /// <summary>Total 12.5 Hz tokens of a signal: the sum of the segments' token lengths.</summary>
    public static int TotalTokens(int sampleCount) => Split(sampleCount).Sum(s => s.TokenLength);

    /// <summary>Rejects input the front-end cannot turn into features, with a reason.</summary>
    internal static void Validate(float[] samples16k, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(samples16k, name ?? nameof(samples16k));
        if (samples16k.Length == 0)
            throw new ArgumentException("audio has no samples: the front-end needs at least one 16 kHz sample", name ?? nameof(samples16k));
        for (int i = 0; i < samples16k.Length; i++)
        {
            if (!float.IsFinite(samples16k[i]))
                throw new ArgumentException($"audio sample {i} is {samples16k[i]}: samples must be finite", name ?? nameof(samples16k));
        }
    }
}
