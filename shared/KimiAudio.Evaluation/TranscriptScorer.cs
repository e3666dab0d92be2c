namespace KimiAudio.Evaluation;

/// <summary>How a language is scored: which normaliser, and whether each character is a word.</summary>
public enum ScoringMode
{
    /// <summary>Whisper's English normaliser rules (<see cref="EnglishTextNormalizer"/>), words split at spaces.</summary>
    English,
    /// <summary>Whisper's basic normaliser (<see cref="BasicTextNormalizer"/>) for other space-separated languages.</summary>
    Basic,
    /// <summary>Chinese, Japanese (and Cantonese): basic normalisation, then every CJK character is its own word, as
    /// Kimi-Audio's evaluation scores Chinese; runs of other letters or digits stay one word.</summary>
    Characters,
}

/// <summary>WER and CER of one hypothesis against its reference, with the counts behind them.</summary>
public sealed record TranscriptScore(ScoringMode Mode, ErrorCounts Words, ErrorCounts Characters)
{
    public double Wer => Words.Rate;
    public double Cer => Characters.Rate;
}

/// <summary>
/// Scores a transcript against a reference after the normalisation speech evaluations use. CER counts the characters
/// of the normalised text without its spaces.
/// </summary>
public static class TranscriptScorer
{
    private static readonly string[] CharacterLanguages = ["zh", "ja", "yue", "cmn", "wuu", "zho", "jpn", "chinese", "japanese", "cantonese", "mandarin"];

    /// <summary>
    /// The mode of <paramref name="language"/> (an ISO code such as en, zh-CN, ja; a region suffix is ignored). Without
    /// a language, a reference written mostly in CJK characters is scored by characters and anything else as English.
    /// </summary>
    public static ScoringMode ModeFor(string? language, string reference)
    {
        var code = language?.Trim().ToLowerInvariant().Split('-', '_')[0];
        if (string.IsNullOrEmpty(code)) return CountCjk(reference) * 2 > reference.Count(char.IsLetter) && CountCjk(reference) > 0 ? ScoringMode.Characters : ScoringMode.English;
        if (CharacterLanguages.Contains(code)) return ScoringMode.Characters;
        return code is "en" or "eng" or "english" ? ScoringMode.English : ScoringMode.Basic;
    }

    public static TranscriptScore Score(string reference, string hypothesis, string? language = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hypothesis);
        var mode = ModeFor(language, reference);
        var normalise = mode == ScoringMode.English ? (Func<string, string>)EnglishTextNormalizer.Normalize : BasicTextNormalizer.Normalize;
        string r = normalise(reference), h = normalise(hypothesis);
        var words = EditAlignment.Align(Words(r, mode), Words(h, mode), StringComparer.Ordinal);
        var chars = EditAlignment.Align(Characters(r), Characters(h));
        return new TranscriptScore(mode, words, chars);
    }

    /// <summary>The words of normalised text: split at spaces, and for <see cref="ScoringMode.Characters"/> every CJK character alone.</summary>
    public static IReadOnlyList<string> Words(string normalised, ScoringMode mode)
    {
        var words = new List<string>();
        foreach (var token in normalised.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (mode != ScoringMode.Characters) { words.Add(token); continue; }
            var run = 0;
            for (var i = 0; i < token.Length; i += char.IsSurrogatePair(token, i) ? 2 : 1)
            {
                var width = char.IsSurrogatePair(token, i) ? 2 : 1;
                if (!IsCjk(char.ConvertToUtf32(token, i))) continue;
                if (i > run) words.Add(token[run..i]);
                words.Add(token.Substring(i, width));
                run = i + width;
            }
            if (run < token.Length) words.Add(token[run..]);
        }
        return words;
    }

    /// <summary>The characters (text elements' code points) of normalised text without its spaces.</summary>
    public static IReadOnlyList<int> Characters(string normalised)
    {
        var chars = new List<int>(normalised.Length);
        for (var i = 0; i < normalised.Length; i += char.IsSurrogatePair(normalised, i) ? 2 : 1)
            if (normalised[i] != ' ') chars.Add(char.ConvertToUtf32(normalised, i));
        return chars;
    }

    /// <summary>Han ideographs (with extensions and compatibility forms) and kana (Korean is space-separated: not here).</summary>
    public static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x3134F or >= 0xF900 and <= 0xFAFF
          or >= 0x3040 and <= 0x30FF or >= 0x31F0 and <= 0x31FF or >= 0xFF66 and <= 0xFF9F;

    private static int CountCjk(string s)
    {
        var n = 0;
        for (var i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
            if (IsCjk(char.ConvertToUtf32(s, i))) n++;
        return n;
    }
}
