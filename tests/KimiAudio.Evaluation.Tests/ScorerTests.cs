namespace KimiAudio.Evaluation.Tests;

public sealed class ScorerTests
{
    [Fact]
    public void English_is_scored_after_normalisation()
    {
        // both normalise to "mister smith is 21" (4 words)
        var score = TranscriptScorer.Score("Mr. Smith is twenty-one.", "mister smith is twenty one", "en");
        Assert.Equal(ScoringMode.English, score.Mode);
        Assert.Equal(new ErrorCounts(0, 0, 0, 4), score.Words);
        Assert.Equal(0, score.Wer);

        var wrong = TranscriptScorer.Score("The cat sat on the mat.", "the cat sit on mat");
        Assert.Equal(new ErrorCounts(1, 1, 0, 6), wrong.Words);
        Assert.Equal(2.0 / 6, wrong.Wer, 12);
        // characters without spaces: thecatsatonthemat (17) vs thecatsitonmat: a→i substituted, t h e deleted
        Assert.Equal(new ErrorCounts(1, 3, 0, 17), wrong.Characters);
        Assert.Equal(4.0 / 17, wrong.Cer, 12);
    }

    [Fact]
    public void Chinese_is_scored_per_character_as_kimi_audio_scores_it()
    {
        var score = TranscriptScorer.Score("今天天气很好。", "今天天气不好", "zh");
        Assert.Equal(ScoringMode.Characters, score.Mode);
        Assert.Equal(new ErrorCounts(1, 0, 0, 6), score.Words);
        Assert.Equal(new ErrorCounts(1, 0, 0, 6), score.Characters);
        Assert.Equal(1.0 / 6, score.Wer, 12);
        // no language given: a reference of CJK characters is still scored by characters
        Assert.Equal(ScoringMode.Characters, TranscriptScorer.Score("今天天气很好", "今天").Mode);
        Assert.Equal(new ErrorCounts(0, 4, 0, 6), TranscriptScorer.Score("今天天气很好", "今天").Words);
    }

    [Fact]
    public void Japanese_splits_kana_and_kanji_but_keeps_latin_words_whole()
    {
        Assert.Equal(["東", "京", "は", "ai", "の", "都", "市"], TranscriptScorer.Words(BasicTextNormalizer.Normalize("東京はAIの都市"), ScoringMode.Characters));
        var score = TranscriptScorer.Score("東京はAIの都市", "東京はAの都市", "ja-JP");
        Assert.Equal(new ErrorCounts(1, 0, 0, 7), score.Words);
        Assert.Equal(new ErrorCounts(0, 1, 0, 8), score.Characters);
    }

    [Fact]
    public void Empty_hypothesis_and_empty_reference_edge_cases()
    {
        var silent = TranscriptScorer.Score("hello world", "");
        Assert.Equal(new ErrorCounts(0, 2, 0, 2), silent.Words);
        Assert.Equal(1.0, silent.Wer);
        Assert.Equal(1.0, silent.Cer);

        var hallucinated = TranscriptScorer.Score("", "hello");
        Assert.Equal(new ErrorCounts(0, 0, 1, 0), hallucinated.Words);
        Assert.Equal(new ErrorCounts(0, 0, 5, 0), hallucinated.Characters);
        Assert.Equal(1.0, hallucinated.Wer);

        var bothEmpty = TranscriptScorer.Score("[noise]", "um");
        Assert.Equal(new ErrorCounts(0, 0, 0, 0), bothEmpty.Words);
        Assert.Equal(0.0, bothEmpty.Wer);
        Assert.Equal(0.0, bothEmpty.Cer);
    }

    [Theory]
    [InlineData("de", "Guten Tag", ScoringMode.Basic)]
    [InlineData("EN-us", "hello", ScoringMode.English)]
    [InlineData(null, "hello", ScoringMode.English)]
    [InlineData("yue", "你好", ScoringMode.Characters)]
    [InlineData(null, "你好吗 ok", ScoringMode.Characters)]
    [InlineData(null, "你 hello", ScoringMode.English)]
    public void The_language_picks_the_mode(string? language, string reference, ScoringMode mode)
        => Assert.Equal(mode, TranscriptScorer.ModeFor(language, reference));
}
