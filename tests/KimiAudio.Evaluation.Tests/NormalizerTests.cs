namespace KimiAudio.Evaluation.Tests;

public sealed class NormalizerTests
{
    [Theory]
    [InlineData("Hello, World!", "hello world")]
    [InlineData("um I uh think hmm so", "i think so")]
    [InlineData("hello [noise] <unk> (laughs) world", "hello world")]
    [InlineData("Mr. Smith's colour TV costs $1,000!", "mister smith is color tv costs $1000")]
    [InlineData("I won't go, you can't stay, let's see; they're here and we've left", "i will not go you can not stay let us see they are here and we have left")]
    [InlineData("She'd been there; he's got it", "she had been there he has got it")]
    [InlineData("Café naïve Straße, Øresund œuvre", "cafe naive strasse oresund oeuvre")]
    [InlineData("twenty one apples and three hundred and five pears", "21 apples and 305 pears")]
    [InlineData("the twenty first of May in two thousand twenty four", "the 21st of may in 2024")]
    [InlineData("fifty percent of ten dollars", "50% of $10")]
    [InlineData("three point one four", "3.14")]
    [InlineData("one two three", "1 2 3")]
    [InlineData("It costs 3.5 dollars. Really.", "it costs 3.5 dollars really")]
    [InlineData("a thousand words", "a thousand words")]
    [InlineData("", "")]
    public void English_normaliser_follows_whispers_rules(string input, string expected)
        => Assert.Equal(expected, EnglishTextNormalizer.Normalize(input));

    [Theory]
    [InlineData("Bonjour, l'été est là !", "bonjour l été est là")]
    [InlineData("今天天气很好。", "今天天气很好")]
    [InlineData("「東京」は、ＡＩの都市です！", "東京 は aiの都市です")]
    public void Basic_normaliser_lowers_and_removes_punctuation_but_keeps_letters(string input, string expected)
        => Assert.Equal(expected, BasicTextNormalizer.Normalize(input));
}
