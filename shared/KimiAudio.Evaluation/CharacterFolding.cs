using System.Text;

namespace KimiAudio.Evaluation;

/// <summary>
/// The parts of Unicode compatibility normalisation the normalisers need, done here because the services run with
/// invariant globalization (string.Normalize without ICU leaves text as it is): full-width ASCII and the ideographic
/// space to ASCII (what NFKC does to them), and Latin letters with diacritics to their base letters (what NFKD followed
/// by dropping the marks does), for Latin-1 and Latin Extended-A.
/// </summary>
internal static class CharacterFolding
{
    private const string Accented = "ÀÁÂÃÄÅàáâãäåĀāĂăĄąÇçĆćĈĉĊċČčĎďÈÉÊËèéêëĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥÌÍÎÏìíîïĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľÑñŃńŅņŇňÒÓÔÕÖòóôõöŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲųŴŵÝýÿŶŷŸŹźŻżŽž";
    private const string Base = "AAAAAAaaaaaaAaAaAaCcCcCcCcCcDdEEEEeeeeEeEeEeEeEeGgGgGgGgHhIIIIiiiiIiIiIiIiIJjKkLlLlLlNnNnNnNnOOOOOooooooOoOoOoRrRrRrSsSsSsSsTtTtUUUUuuuuUuUuUuUuUuUuWwYyyYyYZzZzZz";

    /// <summary>NFKC's effect on full-width forms: ＡＩ → AI, the ideographic space → a space.</summary>
    public static string Compatibility(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var c in s)
            b.Append(c switch { >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0), '\u3000' => ' ', _ => c });
        return b.ToString();
    }

    /// <summary>A Latin letter with a diacritic as its base letter (é → e), or the character itself.</summary>
    public static char WithoutDiacritic(char c)
    {
        var i = Accented.IndexOf(c);
        return i >= 0 ? Base[i] : c;
    }
}
