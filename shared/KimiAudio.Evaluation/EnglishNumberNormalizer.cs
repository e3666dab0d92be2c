using System.Globalization;
using System.Text;

namespace KimiAudio.Evaluation;

/// <summary>
/// Spelled-out English numbers become digits, as Whisper's number rules do for the common cases: cardinals
/// ("twenty one" → 21, "three hundred and five" → 305, "two thousand twenty four" → 2024), ordinals ("twenty first" →
/// 21st), decimals with "point" ("three point five" → 3.5), "percent" after a number (→ 21%) and "dollars"/"pounds"/
/// "euros" after a number (→ $21, £21, €21). A single digit word following another ("one two") starts a new number.
/// Input is lower case, words separated by single spaces.
/// </summary>
public static class EnglishNumberNormalizer
{
    private static readonly Dictionary<string, int> Ones = new(StringComparer.Ordinal)
    {
        ["zero"] = 0, ["one"] = 1, ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6, ["seven"] = 7, ["eight"] = 8,
        ["nine"] = 9, ["ten"] = 10, ["eleven"] = 11, ["twelve"] = 12, ["thirteen"] = 13, ["fourteen"] = 14, ["fifteen"] = 15,
        ["sixteen"] = 16, ["seventeen"] = 17, ["eighteen"] = 18, ["nineteen"] = 19,
    };

    private static readonly Dictionary<string, int> Tens = new(StringComparer.Ordinal)
    {
        ["twenty"] = 20, ["thirty"] = 30, ["forty"] = 40, ["fifty"] = 50, ["sixty"] = 60, ["seventy"] = 70, ["eighty"] = 80, ["ninety"] = 90,
    };

    private static readonly Dictionary<string, long> Multipliers = new(StringComparer.Ordinal)
    {
        ["thousand"] = 1_000, ["million"] = 1_000_000, ["billion"] = 1_000_000_000, ["trillion"] = 1_000_000_000_000,
    };

    private static readonly Dictionary<string, long> Ordinals = new(StringComparer.Ordinal)
    {
        ["first"] = 1, ["second"] = 2, ["third"] = 3, ["fourth"] = 4, ["fifth"] = 5, ["sixth"] = 6, ["seventh"] = 7, ["eighth"] = 8,
        ["ninth"] = 9, ["tenth"] = 10, ["eleventh"] = 11, ["twelfth"] = 12, ["thirteenth"] = 13, ["fourteenth"] = 14, ["fifteenth"] = 15,
        ["sixteenth"] = 16, ["seventeenth"] = 17, ["eighteenth"] = 18, ["nineteenth"] = 19, ["twentieth"] = 20, ["thirtieth"] = 30,
        ["fortieth"] = 40, ["fiftieth"] = 50, ["sixtieth"] = 60, ["seventieth"] = 70, ["eightieth"] = 80, ["ninetieth"] = 90,
        ["hundredth"] = 100, ["thousandth"] = 1000, ["millionth"] = 1_000_000,
    };

    private static readonly Dictionary<string, string> Currencies = new(StringComparer.Ordinal)
    {
        ["dollar"] = "$", ["dollars"] = "$", ["pound"] = "£", ["pounds"] = "£", ["euro"] = "€", ["euros"] = "€",
    };

    public static string Normalize(string text)
    {
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var output = new List<string>(words.Length);
        var i = 0;
        while (i < words.Length)
        {
            if (TryReadNumber(words, ref i, out var number))
            {
                if (i < words.Length && words[i] is "percent" or "per-cent") { number += "%"; i++; }
                else if (i < words.Length && Currencies.TryGetValue(words[i], out var sign)) { number = sign + number; i++; }
                output.Add(number);
            }
            else output.Add(words[i++]);
        }
        return string.Join(' ', output);
    }

    /// <summary>Reads the number words at <paramref name="i"/> (advancing past them) into digits; false when none start there.</summary>
    private static bool TryReadNumber(string[] words, ref int i, out string number)
    {
        number = "";
        long total = 0, current = 0;
        var start = i;
        var last = Kind.None;
        while (i < words.Length)
        {
            var w = words[i];
            if (Ones.TryGetValue(w, out var one))
            {
                if (last is Kind.Ones or Kind.Ordinal || (last == Kind.Tens && one >= 10)) break; // "one two": a new number
                current += one;
                last = Kind.Ones;
            }
            else if (Tens.TryGetValue(w, out var ten))
            {
                if (last is Kind.Ones or Kind.Tens && current % 100 != 0) break;
                current += ten;
                last = Kind.Tens;
            }
            else if (w == "hundred" && last is Kind.Ones or Kind.Tens && current is > 0 and < 100)
            {
                current *= 100;
                last = Kind.Hundred;
            }
            else if (Multipliers.TryGetValue(w, out var multiplier) && last != Kind.None && last != Kind.Multiplier)
            {
                total += current * multiplier;
                current = 0;
                last = Kind.Multiplier;
            }
            else if (w == "and" && last is Kind.Hundred or Kind.Multiplier && i + 1 < words.Length && (Ones.ContainsKey(words[i + 1]) || Tens.ContainsKey(words[i + 1])))
            {
                // "one hundred and five": the and belongs to the number
            }
            else if (Ordinals.TryGetValue(w, out var ordinal) && last != Kind.Ordinal && (last == Kind.None || OrdinalFollows(last, current, ordinal)))
            {
                current = ordinal >= 100 ? Math.Max(current, 1) * ordinal : current + ordinal;
                i++;
                number = (total + current).ToString(CultureInfo.InvariantCulture) + Suffix(total + current);
                return true;
            }
            else if (w == "point" && last != Kind.None && i + 1 < words.Length && Ones.TryGetValue(words[i + 1], out var d) && d < 10)
            {
                var digits = new StringBuilder();
                i++;
                while (i < words.Length && Ones.TryGetValue(words[i], out var digit) && digit < 10) { digits.Append(digit); i++; }
                number = (total + current).ToString(CultureInfo.InvariantCulture) + "." + digits;
                return true;
            }
            else break;
            i++;
        }
        if (last == Kind.None) { i = start; return false; }
        number = (total + current).ToString(CultureInfo.InvariantCulture);
        return true;
    }

    private static bool OrdinalFollows(Kind last, long current, long ordinal)
        => ordinal >= 100 ? last is Kind.Ones or Kind.Tens : ordinal < 10 ? last is Kind.Tens or Kind.Hundred or Kind.Multiplier : last is Kind.Hundred or Kind.Multiplier && current % 100 == 0;

    private static string Suffix(long n) => (n % 100) is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };

    private enum Kind { None, Ones, Tens, Hundred, Multiplier, Ordinal }
}
