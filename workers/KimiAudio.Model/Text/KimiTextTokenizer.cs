using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using KimiAudio.Model.Checkpoints;
using Microsoft.ML.Tokenizers;

namespace KimiAudio.Model.Text;

/// <summary>
/// The Kimi text tokenizer (<c>tiktoken.model</c> BPE ranks + 421 special tokens) on Microsoft.ML.Tokenizers.
/// <see cref="Encode"/> behaves like the reference prompt path (<c>encode(text, allowed_special=set(),
/// disallowed_special=())</c>): special-token strings inside text are ordinary text. Decoding concatenates token
/// bytes and decodes UTF-8 with replacement characters.
/// </summary>
public sealed partial class KimiTextTokenizer
{
    /// <summary>The reference tokenizer's pre-tokenizer pattern (tiktoken pat_str; single digits).</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // limits of the reference encode(): texts are cut into 400k-char pieces and runs of > 25k (non-)whitespace
    private const int MaxEncodeChars = 400_000;
    private const int MaxSameKindChars = 25_000;

    private readonly TiktokenTokenizer plain;
    private readonly TiktokenTokenizer withSpecials;
    private readonly byte[][] tokenBytes;

    public KimiSpecialTokens Special { get; }
    public int NumBaseTokens => Special.NumBaseTokens;
    /// <summary>Text vocabulary size (BPE ranks + special tokens).</summary>
    public int VocabSize => Special.End;

    private KimiTextTokenizer(TiktokenTokenizer plain, TiktokenTokenizer withSpecials, byte[][] tokenBytes, KimiSpecialTokens special)
    {
        this.plain = plain;
        this.withSpecials = withSpecials;
        this.tokenBytes = tokenBytes;
        Special = special;
    }

    [GeneratedRegex(Pattern, RegexOptions.None)]
    private static partial Regex PreTokenizerRegex();

    /// <summary>Loads <c>tiktoken.model</c> from <paramref name="folder"/> and checks <c>tokenizer_config.json</c> against the derived special ids when present.</summary>
    public static KimiTextTokenizer Load(string folder)
    {
        var path = Path.Combine(folder, KimiAudioLayout.Tiktoken);
        if (!File.Exists(path)) throw new CheckpointException($"text tokenizer file not found: {path}");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var bytes = new byte[lines.Length][];
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[1], out var rank) || rank < 0 || rank >= lines.Length || bytes[rank] is not null)
                throw new CheckpointException($"{path}: malformed rank line '{line}'");
            bytes[rank] = Convert.FromBase64String(parts[0]);
        }
        var special = new KimiSpecialTokens(lines.Length);
        CheckTokenizerConfig(folder, special);

        var specialDict = new Dictionary<string, int>(special.Ids, StringComparer.Ordinal);
        TiktokenTokenizer Create(IReadOnlyDictionary<string, int>? preTokenizerSpecials)
        {
            using var stream = File.OpenRead(path);
            return TiktokenTokenizer.Create(stream, new RegexPreTokenizer(PreTokenizerRegex(), preTokenizerSpecials), normalizer: null, specialTokens: specialDict);
        }
        return new KimiTextTokenizer(Create(null), Create(specialDict), bytes, special);
    }

    private static void CheckTokenizerConfig(string folder, KimiSpecialTokens special)
    {
        var path = Path.Combine(folder, KimiAudioLayout.TokenizerConfig);
        if (!File.Exists(path)) return;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        if (!doc.RootElement.TryGetProperty("added_tokens_decoder", out var added)) return;
        foreach (var p in added.EnumerateObject())
        {
            int id = int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture);
            var content = p.Value.GetProperty("content").GetString();
            if (!special.IsSpecial(id) || special.NameOf(id) != content)
                throw new CheckpointException(
                    $"{path}: added token {id} is '{content}', but tiktoken.model ({special.NumBaseTokens} ranks) and the reference order give '{(special.IsSpecial(id) ? special.NameOf(id) : "no special token")}'");
        }
    }

    /// <summary>Encodes plain text; special-token strings are not recognised (as the reference prompt path).</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (var piece in SplitLikeReference(text)) ids.AddRange(plain.EncodeToIds(piece));
        return ids;
    }

    /// <summary>Encodes text in which special-token strings become their ids (not used by the prompts).</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text)
    {
        var ids = new List<int>();
        foreach (var piece in SplitLikeReference(text)) ids.AddRange(withSpecials.EncodeToIds(piece));
        return ids;
    }

    /// <summary>Concatenates the tokens' bytes and decodes UTF-8 (one U+FFFD per maximal invalid subsequence).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var buffer = new List<byte>();
        foreach (var id in ids)
        {
            if (id >= 0 && id < tokenBytes.Length) buffer.AddRange(tokenBytes[id]);
            else if (Special.IsSpecial(id)) buffer.AddRange(Encoding.UTF8.GetBytes(Special.NameOf(id)));
            else throw new ArgumentOutOfRangeException(nameof(ids), id, $"not a text token id (text vocabulary is 0..{VocabSize - 1})");
        }
        return Encoding.UTF8.GetString([.. buffer]);
    }

    /// <summary>The reference's pre-BPE split: 400k-char windows, then runs of more than 25k whitespace or non-whitespace code points.</summary>
    public static IEnumerable<string> SplitLikeReference(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        for (int start = 0; start < runes.Length; start += MaxEncodeChars)
        {
            int end = Math.Min(runes.Length, start + MaxEncodeChars);
            int sliceStart = start, runLength = 0;
            bool runIsSpace = IsSpace(runes[start]);
            for (int i = start; i < end; i++)
            {
                bool space = IsSpace(runes[i]);
                if (space != runIsSpace)
                {
                    runLength = 1;
                    runIsSpace = space;
                }
                else if (++runLength > MaxSameKindChars)
                {
                    yield return Join(runes, sliceStart, i);
                    sliceStart = i;
                    runLength = 1;
                }
            }
            yield return Join(runes, sliceStart, end);
        }
        if (runes.Length == 0) yield return "";
    }

    // Python str.isspace: Unicode whitespace plus the information separators U+001C..U+001F
    private static bool IsSpace(Rune r) => Rune.IsWhiteSpace(r) || (r.Value >= 0x1C && r.Value <= 0x1F);

    private static string Join(Rune[] runes, int from, int to)
    {
        var sb = new StringBuilder();
        for (int i = from; i < to; i++) sb.Append(runes[i].ToString());
        return sb.ToString();
    }
}
