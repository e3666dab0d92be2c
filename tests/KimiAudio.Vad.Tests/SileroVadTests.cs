using System.Diagnostics;
using Xunit.Abstractions;

namespace KimiAudio.Vad.Tests;

/// <summary>The real Silero model (installed by infra/services.sh install) on espeak-ng speech with known pauses.</summary>
public sealed class SileroVadTests(SileroVadTests.Model fixture, ITestOutputHelper output) : IClassFixture<SileroVadTests.Model>
{
    public sealed class Model : IDisposable
    {
        public SileroVad Vad { get; } = SileroVad.Open(VadModelLocator.Resolve());
        public void Dispose() => Vad.Dispose();
    }

    private const int S = SileroVad.SampleRate;

    [Fact]
    public void A_missing_model_file_is_a_clear_error_that_says_how_to_install_it()
    {
        var ex = Assert.Throws<VadModelException>(() => SileroVad.Open("/nonexistent/silero.onnx"));
        Assert.Contains("/nonexistent/silero.onnx", ex.Message);
        Assert.Contains("infra/services.sh install", ex.Message);
        Assert.Contains(VadModelLocator.EnvironmentVariable, ex.Message);
        var notAModel = Path.GetTempFileName();
        File.WriteAllText(notAModel, "not onnx");
        try { Assert.Throws<VadModelException>(() => SileroVad.Open(notAModel)); }
        finally { File.Delete(notAModel); }
    }

    [Fact]
    public void Speech_scores_high_and_silence_scores_low()
    {
        var vad = fixture.Vad;
        var speech = SpokenCorpus.Speak(SpokenCorpus.Sentences[0]);
        var p = vad.SpeechProbabilities(speech);
        Assert.Equal(SileroVad.FrameCount(speech.Length), p.Length);
        Assert.True(p.Count(x => x > 0.5f) > p.Length * 0.6, $"only {p.Count(x => x > 0.5f)} of {p.Length} speech frames score > 0.5");
        Assert.All(vad.SpeechProbabilities(new float[5 * S]), x => Assert.True(x < 0.1f, $"silence scored {x}"));
    }

    [Fact]
    public void A_steady_tone_is_no_speech_and_is_cut_every_30_seconds()
    {
        var tone = new float[100 * S];
        for (var i = 0; i < tone.Length; i++) tone[i] = (float)(0.25 * Math.Sin(2 * Math.PI * 440 * i / S));
        var pieces = new VadSegmenter(fixture.Vad).Segment(tone);
        Assert.Equal([0, 30 * S, 60 * S, 90 * S], pieces.Select(p => p.Start));
    }

    [Fact]
    public void Every_cut_of_two_minutes_of_speech_falls_in_a_pause_between_sentences()
    {
        var corpus = SpokenCorpus.Build(120, [0.4, 0.7, 1.0, 1.5], seed: 3);
        var pieces = new VadSegmenter(fixture.Vad).Segment(corpus.Samples);
        AssertCutsInSilences(corpus, pieces);
        Assert.True(pieces.Count >= 4);
    }

    [Fact]
    public void A_ten_minute_recording_becomes_pieces_of_at_most_30_seconds_none_cutting_a_word()
    {
        var corpus = SpokenCorpus.Build(600, [0.3, 0.5, 0.8, 1.2, 2.0], seed: 10);
        Assert.InRange(corpus.Seconds, 600, 620);
        var clock = Stopwatch.StartNew();
        var segmenter = new VadSegmenter(fixture.Vad);
        var pauses = segmenter.FindPauses(corpus.Samples);
        var pieces = PauseCutter.AtPauses(corpus.Samples.Length, pauses, segmenter.Rules);
        output.WriteLine($"{corpus.Seconds:F0} s scored in {clock.Elapsed.TotalSeconds:F1} s; {pieces.Count} pieces, {pauses.Count} pauses");
        AssertCutsInSilences(corpus, pieces);
        Assert.InRange(pieces.Count, 21, 60);
        // the detector finds the inserted silences: all of at least 0.5 s overlap a detected pause
        foreach (var silence in corpus.Silences.Where(s => s.Length >= S / 2))
            Assert.Contains(pauses, p => p.Start < silence.End && silence.Start < p.End);
        // and it hears the sentences: no detected pause lies wholly inside a sentence for longer than 0.3 s
        foreach (var pause in pauses)
            Assert.DoesNotContain(corpus.Words, w => w.Start <= pause.Start && pause.End <= w.End && pause.Length > 0.3 * S);
    }

    private void AssertCutsInSilences(SpokenCorpus corpus, IReadOnlyList<SampleRange> pieces)
    {
        Assert.Equal(0, pieces[0].Start);
        Assert.Equal(corpus.Samples.Length, pieces[^1].End);
        for (var i = 0; i < pieces.Count; i++)
        {
            Assert.InRange(pieces[i].Length, 1, 30 * S);
            if (i > 0) Assert.Equal(pieces[i - 1].End, pieces[i].Start);
        }
        foreach (var cut in pieces.Take(pieces.Count - 1).Select(p => p.End))
        {
            var silence = corpus.SilenceAt(cut);
            Assert.True(silence is not null, $"the cut at {cut / (double)S:F3} s is inside a sentence");
            output.WriteLine($"cut {cut / (double)S,8:F3} s in silence {silence!.Value.Start / (double)S:F3}-{silence.Value.End / (double)S:F3}");
        }
    }
}
