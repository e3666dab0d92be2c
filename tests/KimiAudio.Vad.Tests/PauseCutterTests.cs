namespace KimiAudio.Vad.Tests;

public class PauseCutterTests
{
    private const int S = SileroVad.SampleRate;
    private static readonly CutRules Rules = CutRules.Default;

    private static Pause P(double from, double to) => new((int)(from * S), (int)(to * S));

    private static void AssertTiles(IReadOnlyList<SampleRange> pieces, int sampleCount)
    {
        Assert.Equal(0, pieces[0].Start);
        Assert.Equal(sampleCount, pieces[^1].End);
        for (var i = 1; i < pieces.Count; i++) Assert.Equal(pieces[i - 1].End, pieces[i].Start);
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, Rules.MaxSamples));
    }

    [Fact]
    public void Without_pauses_long_speech_is_cut_at_exactly_30_seconds_as_the_fixed_rule_does()
    {
        var pieces = PauseCutter.AtPauses(100 * S, [], Rules);
        Assert.Equal(PauseCutter.Fixed(100 * S, 30 * S), pieces);
        Assert.Equal([0, 30 * S, 60 * S, 90 * S], pieces.Select(p => p.Start));
        Assert.Equal(10 * S, pieces[^1].Length);
    }

    [Fact]
    public void Audio_that_fits_the_window_is_one_piece_and_nothing_is_no_piece()
    {
        Assert.Equal([new SampleRange(0, 30 * S)], PauseCutter.AtPauses(30 * S, [P(10, 12)], Rules));
        Assert.Empty(PauseCutter.AtPauses(0, [], Rules));
        Assert.Empty(PauseCutter.Fixed(0, 30 * S));
    }

    [Fact]
    public void The_cut_goes_into_the_pause_with_the_most_silence_around_it()
    {
        // a 0.2 s pause at 20 s and a 1 s pause at 25 s: the cut is 0.5 s inside the longer one, from both sides
        var pieces = PauseCutter.AtPauses(50 * S, [P(20, 20.2), P(25, 26)], Rules);
        Assert.Equal((int)(25.5 * S), pieces[0].End);
        AssertTiles(pieces, 50 * S);
    }

    [Fact]
    public void Pauses_with_enough_silence_tie_and_the_later_one_keeps_the_piece_longer()
    {
        var pieces = PauseCutter.AtPauses(50 * S, [P(24, 27), P(28, 29.5)], Rules);
        Assert.Equal(29 * S, pieces[0].End); // 0.5 s before the end of the later pause
    }

    [Fact]
    public void A_pause_that_runs_past_the_window_end_is_cut_at_the_window_end()
    {
        var pieces = PauseCutter.AtPauses(70 * S, [P(29, 40)], Rules);
        Assert.Equal(30 * S, pieces[0].End);
        Assert.Equal(40 * S - Rules.EnoughMarginSamples, pieces[1].End); // the rest of that pause, still 0.5 s from speech
        AssertTiles(pieces, 70 * S);
    }

    [Fact]
    public void The_second_half_of_the_window_is_searched_first_then_the_first_half()
    {
        var pieces = PauseCutter.AtPauses(50 * S, [P(5, 8), P(20, 20.3)], Rules);
        Assert.Equal((int)(20.15 * S), pieces[0].End); // the short pause in the second half beats the long one in the first
        pieces = PauseCutter.AtPauses(50 * S, [P(5, 6)], Rules);
        Assert.Equal((int)(5.5 * S), pieces[0].End); // only a pause in the first half: still better than cutting speech
    }

    [Fact]
    public void A_pause_in_the_first_second_of_a_piece_is_not_used_and_the_hard_cut_applies()
    {
        var pieces = PauseCutter.AtPauses(50 * S, [P(0.2, 0.6)], Rules);
        Assert.Equal(30 * S, pieces[0].End);
    }

    [Fact]
    public void Every_cut_is_inside_a_pause_or_is_the_hard_cut_of_a_window_without_one()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 200; trial++)
        {
            var n = random.Next(31 * S, 600 * S);
            var pauses = new List<Pause>();
            for (var at = random.Next(0, 20 * S); at < n; at += random.Next(S / 2, 40 * S))
            {
                var end = Math.Min(n, at + random.Next(S / 20, 3 * S));
                pauses.Add(new Pause(at, end));
                at = end;
            }
            var pieces = PauseCutter.AtPauses(n, pauses, Rules);
            AssertTiles(pieces, n);
            Assert.Equal(pieces, PauseCutter.AtPauses(n, pauses, Rules)); // deterministic: a retry gets the same plan
            foreach (var piece in pieces.Take(pieces.Count - 1))
            {
                var inPause = pauses.Any(p => p.Start < piece.End && piece.End < p.End);
                var windowHadPause = pauses.Any(p => p.End > piece.Start + Rules.MinSamples && p.Start < piece.Start + Rules.MaxSamples);
                Assert.True(inPause || (!windowHadPause && piece.Length == Rules.MaxSamples),
                    $"trial {trial}: cut at {piece.End} is in speech although the window from {piece.Start} had a pause");
            }
        }
    }
}
