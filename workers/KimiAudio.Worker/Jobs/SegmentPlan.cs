namespace KimiAudio.Worker.Jobs;

/// <summary>A slice [Start, End) of a job's 16 kHz samples, fed to the model as one request.</summary>
public readonly record struct SegmentSpan(int Index, int Start, int End)
{
    /// <summary>Splits <paramref name="sampleCount"/> samples into consecutive spans of at most <paramref name="maxSamples"/>.</summary>
    public static IReadOnlyList<SegmentSpan> Plan(int sampleCount, int maxSamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSamples);
        var spans = new List<SegmentSpan>();
        for (int start = 0, index = 0; start < sampleCount; start += maxSamples, index++)
            spans.Add(new SegmentSpan(index, start, Math.Min(sampleCount, start + maxSamples)));
        return spans;
    }
}
