namespace KimiAudio.Evaluation.Tests;

/// <summary>Edit alignments worked out by hand: each case names the edits that turn the reference into the hypothesis.</summary>
public sealed class AlignmentTests
{
    private static ErrorCounts Words(string reference, string hypothesis)
        => EditAlignment.Align(reference.Split(' ', StringSplitOptions.RemoveEmptyEntries), hypothesis.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    [Theory]
    // reference, hypothesis, S, D, I: the edits by hand
    [InlineData("the cat sat on the mat", "the cat sat on the mat", 0, 0, 0)]
    [InlineData("the cat sat on the mat", "the cat sit on mat", 1, 1, 0)]        // sat→sit, the deleted
    [InlineData("a b c", "a x b c d", 0, 0, 2)]                                   // x and d inserted
    [InlineData("one two three four", "one three", 0, 2, 0)]                      // two, four deleted
    [InlineData("a b c d", "x b y d z", 2, 0, 1)]                                 // a→x, c→y, z inserted
    [InlineData("a b", "b a", 2, 0, 0)]                                           // ties: substitutions before a deletion + insertion
    [InlineData("hello world", "", 0, 2, 0)]                                      // empty hypothesis: every word deleted
    [InlineData("", "hello there", 0, 0, 2)]                                      // empty reference: every word inserted
    [InlineData("", "", 0, 0, 0)]
    public void Alignment_counts_match_the_hand_computed_edits(string reference, string hypothesis, int s, int d, int i)
    {
        var counts = Words(reference, hypothesis);
        Assert.Equal((s, d, i), (counts.Substitutions, counts.Deletions, counts.Insertions));
        Assert.Equal(reference.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, counts.ReferenceLength);
    }

    [Fact]
    public void Rates_divide_by_the_reference_and_an_empty_reference_is_never_perfect_by_accident()
    {
        Assert.Equal(2.0 / 6, Words("the cat sat on the mat", "the cat sit on mat").Rate, 12);
        Assert.Equal(2.0 / 3, Words("a b c", "a x b c d").Rate, 12);
        Assert.Equal(1.0, Words("hello world", "").Rate);
        Assert.Equal(1.0, Words("", "hello there").Rate);
        Assert.Equal(0.0, Words("", "").Rate);
        // rates over 1 are possible: more insertions than reference words
        Assert.Equal(3.0, Words("a", "x y z").Rate);
    }

    [Fact]
    public void Counts_add_up_to_a_corpus_rate_that_is_not_the_mean_of_the_rates()
    {
        var a = Words("a b c d", "a b c d");     // 0 / 4
        var b = Words("e f", "x");               // 2 / 2 (one substitution, one deletion)
        var corpus = a + b;
        Assert.Equal(new ErrorCounts(1, 1, 0, 6), corpus);
        Assert.Equal(2.0 / 6, corpus.Rate, 12);
        Assert.NotEqual((a.Rate + b.Rate) / 2, corpus.Rate);
    }
}
