using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace KimiAudio.Evaluation;

/// <summary>
/// Whisper's basic normaliser rules, for languages other than English: lower case; words in [brackets], &lt;tags&gt;
/// and (parentheses) removed; after NFKC (its full-width folding: <see cref="CharacterFolding"/>) every mark, symbol and punctuation character becomes a space; runs of white
/// space become one space.
/// </summary>
public static partial class BasicTextNormalizer
{
    public static string Normalize(string text)
    {
        var s = RemoveBracketed(text.ToLowerInvariant());
        s = ReplaceSymbols(CharacterFolding.Compatibility(s), keep: "", dropMarks: false);
        return CollapseSpaces(s);
    }

    internal static string RemoveBracketed(string s) => Parenthesised().Replace(Bracketed().Replace(s, ""), "");

    /// <summary>Marks, symbols and punctuation become spaces (those in <paramref name="keep"/> stay; with <paramref name="dropMarks"/> non-spacing marks vanish).</summary>
    internal static string ReplaceSymbols(string s, string keep, bool dropMarks, Func<char, string?>? replace = null)
    {
        var b = new StringBuilder(s.Length);
        foreach (var original in s)
        {
            var c = dropMarks ? CharacterFolding.WithoutDiacritic(original) : original;
            if (keep.Contains(c)) { b.Append(c); continue; }
            if (replace?.Invoke(c) is { } r) { b.Append(r); continue; }
            var category = char.GetUnicodeCategory(c);
            if (dropMarks && category == UnicodeCategory.NonSpacingMark) continue;
            b.Append(IsMarkSymbolOrPunctuation(category) ? ' ' : c);
        }
        return b.ToString();
    }

    internal static string CollapseSpaces(string s) => Spaces().Replace(s, " ").Trim();

    private static bool IsMarkSymbolOrPunctuation(UnicodeCategory c) => c is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        or UnicodeCategory.EnclosingMark or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
        or UnicodeCategory.OtherSymbol or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation;

    [GeneratedRegex(@"[<\[][^>\]]*[>\]]")]
    private static partial Regex Bracketed();

    [GeneratedRegex(@"\(([^)]+?)\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
