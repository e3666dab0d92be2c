namespace KimiAudio.Vad;

/// <summary>A slice [Start, End) of a recording's samples.</summary>
public readonly record struct SampleRange(int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>Where long audio is cut: inside pauses, into pieces no longer than the model's window.</summary>
public sealed record CutRules
{
    /// <summary>Longest piece (the model's window: 30 s of 16 kHz).</summary>
    public int MaxSamples { get; init; } = 30 * SileroVad.SampleRate;
    /// <summary>A cut is looked for first in the last part of the window, from this fraction of MaxSamples on, so pieces stay long.</summary>
    public double PreferAfterFraction { get; init; } = 0.5;
    /// <summary>Pieces shorter than this are not cut off (unless the recording is shorter).</summary>
    public int MinSamples { get; init; } = 1 * SileroVad.SampleRate;
    /// <summary>A cut this far from the nearest speech on both sides is as good as any; beyond it, later cuts win.</summary>
    public int EnoughMarginSamples { get; init; } = SileroVad.SampleRate / 2;

    public static CutRules Default { get; } = new();
}

/// <summary>
/// Cuts a recording into consecutive pieces of at most <see cref="CutRules.MaxSamples"/> (pure and deterministic, so a
/// retried job gets the same pieces). Each cut goes where the most silence surrounds it: for every pause in the window
/// the candidate is the latest point that keeps min(half the pause, EnoughMargin) from speech on both sides (at most the
/// window's end); the candidate with the widest margin (capped at EnoughMargin) wins, ties to the later one. Candidates
/// in the window's last part (PreferAfterFraction on) are taken first, then any after MinSamples. With no pause in the
/// window the piece is cut at exactly MaxSamples: the fixed 30 s rule of the reference stays as the fallback.
/// </summary>
public static class PauseCutter
{
    /// <summary>The fixed rule alone: consecutive pieces of exactly <paramref name="maxSamples"/> (the last shorter).</summary>
    public static IReadOnlyList<SampleRange> Fixed(int sampleCount, int maxSamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSamples);
        var pieces = new List<SampleRange>();
        for (var start = 0; start < sampleCount; start += maxSamples)
            pieces.Add(new SampleRange(start, Math.Min(sampleCount, start + maxSamples)));
        return pieces;
    }

    /// <param name="pauses">Non-speech stretches in order (they may overlap the ends of the recording).</param>
    public static IReadOnlyList<SampleRange> AtPauses(int sampleCount, IReadOnlyList<Pause> pauses, CutRules rules)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rules.MaxSamples);
        ArgumentOutOfRangeException.ThrowIfNegative(sampleCount);
        var pieces = new List<SampleRange>();
        var start = 0;
        var first = 0; // first pause that may still end after start
        while (sampleCount - start > rules.MaxSamples)
        {
            var limit = start + rules.MaxSamples;
            while (first < pauses.Count && pauses[first].End <= start) first++;
            var cut = BestCut(pauses, first, start + (int)(rules.MaxSamples * rules.PreferAfterFraction), limit, rules)
                ?? BestCut(pauses, first, start + Math.Min(rules.MinSamples, rules.MaxSamples), limit, rules)
                ?? limit;
            pieces.Add(new SampleRange(start, cut));
            start = cut;
        }
        if (sampleCount > start) pieces.Add(new SampleRange(start, sampleCount));
        return pieces;
    }

    /// <summary>The best cut in [from, limit], strictly inside a pause; null when no pause reaches into that range.</summary>
    private static int? BestCut(IReadOnlyList<Pause> pauses, int first, int from, int limit, CutRules rules)
    {
        int? best = null;
        var bestMargin = 0;
        for (var i = first; i < pauses.Count && pauses[i].Start < limit; i++)
        {
            var (a, b) = (pauses[i].Start, pauses[i].End);
            if (b <= from) continue;
            var wanted = Math.Min(rules.EnoughMarginSamples, (b - a) / 2);
            var cut = Math.Min(limit, b - wanted);
            if (cut < from) cut = from;
            var margin = Math.Min(Math.Min(cut - a, b - cut), rules.EnoughMarginSamples);
            if (margin <= 0) continue;
            if (best is null || margin > bestMargin || (margin == bestMargin && cut > best))
            {
                best = cut;
                bestMargin = margin;
            }
        }
        return best;
    }
}
