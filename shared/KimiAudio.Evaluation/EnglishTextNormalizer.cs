using System.Text.RegularExpressions;

namespace KimiAudio.Evaluation;

/// <summary>
/// Whisper's English normaliser rules, in their order: lower case; bracketed and parenthesised words removed; the
/// hesitations hmm, mm, mhm, mmm, uh, um removed; contractions and titles spelled out (won't → will not, dr → doctor,
/// 's been → has been, n't → not, 're → are, ...); thousands commas dropped (1,000 → 1000) and sentence periods removed;
/// after NFKD (<see cref="CharacterFolding"/>) every diacritic dropped (œ → oe, ß → ss, ø → o ...) and other symbols and punctuation become spaces, keeping
/// . % $ ¢ € £ for numbers; spelled-out numbers become digits (<see cref="EnglishNumberNormalizer"/>); British spellings
/// become American ones (a list of common words, not Whisper's whole list); currency signs and % not beside a number go.
/// </summary>
public static partial class EnglishTextNormalizer
{
    private static readonly (Regex Pattern, string Replacement)[] Replacers = Build(
    [
        // common contractions
        (@"\bwon't\b", "will not"), (@"\bcan't\b", "can not"), (@"\blet's\b", "let us"), (@"\bain't\b", "aint"),
        (@"\by'all\b", "you all"), (@"\bwanna\b", "want to"), (@"\bgotta\b", "got to"), (@"\bgonna\b", "going to"),
        (@"\bi'ma\b", "i am going to"), (@"\bimma\b", "i am going to"), (@"\bwoulda\b", "would have"), (@"\bcoulda\b", "could have"),
        (@"\bshoulda\b", "should have"), (@"\bma'am\b", "madam"),
        // titles and abbreviations before names
        (@"\bmr\b", "mister "), (@"\bmrs\b", "missus "), (@"\bst\b", "saint "), (@"\bdr\b", "doctor "), (@"\bprof\b", "professor "),
        (@"\bcapt\b", "captain "), (@"\bgov\b", "governor "), (@"\bald\b", "alderman "), (@"\bgen\b", "general "), (@"\bsen\b", "senator "),
        (@"\brep\b", "representative "), (@"\bpres\b", "president "), (@"\brev\b", "reverend "), (@"\bhon\b", "honorable "),
        (@"\basst\b", "assistant "), (@"\bassoc\b", "associate "), (@"\blt\b", "lieutenant "), (@"\bcol\b", "colonel "),
        (@"\bjr\b", "junior "), (@"\bsr\b", "senior "), (@"\besq\b", "esquire "),
        // perfect tenses, before the general rules
        (@"'d been\b", " had been"), (@"'s been\b", " has been"), (@"'d gone\b", " had gone"), (@"'s gone\b", " has gone"),
        (@"'d done\b", " had done"), (@"'s got\b", " has got"),
        // general contractions
        (@"n't\b", " not"), (@"'re\b", " are"), (@"'s\b", " is"), (@"'d\b", " would"), (@"'ll\b", " will"), (@"'t\b", " not"),
        (@"'ve\b", " have"), (@"'m\b", " am"),
    ]);

    /// <summary>British → American spellings of common words (Whisper's list is far longer; these are the frequent ones).</summary>
    public static readonly IReadOnlyDictionary<string, string> Spellings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["colour"] = "color", ["colours"] = "colors", ["coloured"] = "colored", ["favourite"] = "favorite", ["favourites"] = "favorites",
        ["flavour"] = "flavor", ["honour"] = "honor", ["humour"] = "humor", ["labour"] = "labor", ["neighbour"] = "neighbor",
        ["neighbours"] = "neighbors", ["behaviour"] = "behavior", ["harbour"] = "harbor", ["rumour"] = "rumor", ["savour"] = "savor",
        ["centre"] = "center", ["centres"] = "centers", ["theatre"] = "theater", ["theatres"] = "theaters", ["metre"] = "meter",
        ["metres"] = "meters", ["litre"] = "liter", ["litres"] = "liters", ["fibre"] = "fiber",
        ["realise"] = "realize", ["realised"] = "realized", ["recognise"] = "recognize", ["recognised"] = "recognized",
        ["organise"] = "organize", ["organised"] = "organized", ["organisation"] = "organization", ["apologise"] = "apologize",
        ["analyse"] = "analyze", ["analysed"] = "analyzed", ["criticise"] = "criticize", ["summarise"] = "summarize",
        ["travelled"] = "traveled", ["travelling"] = "traveling", ["traveller"] = "traveler", ["cancelled"] = "canceled",
        ["cancelling"] = "canceling", ["labelled"] = "labeled", ["modelling"] = "modeling", ["jewellery"] = "jewelry",
        ["defence"] = "defense", ["offence"] = "offense", ["licence"] = "license", ["programme"] = "program",
        ["programmes"] = "programs", ["catalogue"] = "catalog", ["dialogue"] = "dialog", ["grey"] = "gray", ["tyre"] = "tire",
        ["tyres"] = "tires", ["cheque"] = "check", ["aluminium"] = "aluminum", ["plough"] = "plow", ["mould"] = "mold",
        ["practise"] = "practice", ["ageing"] = "aging", ["enrol"] = "enroll", ["fulfil"] = "fulfill", ["skilful"] = "skillful",
    };

    /// <summary>Letters that NFKD does not decompose, spelled as Whisper spells them.</summary>
    private static string? Diacritic(char c) => c switch
    {
        'œ' => "oe", 'Œ' => "OE", 'ø' => "o", 'Ø' => "O", 'æ' => "ae", 'Æ' => "AE", 'ß' => "ss", 'ẞ' => "SS", 'đ' => "d", 'Đ' => "D",
        'ð' => "d", 'Ð' => "D", 'þ' => "th", 'Þ' => "th", 'ł' => "l", 'Ł' => "L",
        _ => null,
    };

    public static string Normalize(string text)
    {
        var s = BasicTextNormalizer.RemoveBracketed(text.ToLowerInvariant());
        s = Hesitations().Replace(s, "");
        s = SpaceBeforeApostrophe().Replace(s, "'");
        foreach (var (pattern, replacement) in Replacers) s = pattern.Replace(s, replacement);
        s = ThousandsComma().Replace(s, "$1$2");
        s = SentencePeriod().Replace(s, " $1");
        s = BasicTextNormalizer.ReplaceSymbols(CharacterFolding.Compatibility(s), keep: ".%$¢€£", dropMarks: true, Diacritic);
        s = EnglishNumberNormalizer.Normalize(BasicTextNormalizer.CollapseSpaces(s));
        s = string.Join(' ', s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => Spellings.TryGetValue(w, out var us) ? us : w));
        s = LoneCurrency().Replace(s, " $1");
        s = LonePercent().Replace(s, "$1 ");
        return BasicTextNormalizer.CollapseSpaces(s);
    }

    private static (Regex, string)[] Build((string Pattern, string Replacement)[] rules)
        => [.. rules.Select(r => (new Regex(r.Pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled), r.Replacement))];

    [GeneratedRegex(@"\b(hmm|mm|mhm|mmm|uh|um)\b")]
    private static partial Regex Hesitations();

    [GeneratedRegex(@"\s+'")]
    private static partial Regex SpaceBeforeApostrophe();

    [GeneratedRegex(@"(\d),(\d)")]
    private static partial Regex ThousandsComma();

    [GeneratedRegex(@"\.([^0-9]|$)")]
    private static partial Regex SentencePeriod();

    [GeneratedRegex(@"[.$¢€£]([^0-9]|$)")]
    private static partial Regex LoneCurrency();

    [GeneratedRegex(@"([^0-9]|^)%")]
    private static partial Regex LonePercent();
}
