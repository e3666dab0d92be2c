using System.Text;
using System.Text.RegularExpressions;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Text;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Llm;

/// <summary>
/// Microsoft.ML.Tokenizers' BPE against a direct implementation of tiktoken's merge rule (repeatedly merge the
/// adjacent pair whose bytes have the lowest rank, leftmost first) on the same pre-tokenization, over a varied corpus.
/// </summary>
public class TiktokenEquivalenceTests
{
    private static List<int> ReferenceBpe(byte[] piece, Dictionary<string, int> ranks)
    {
        var parts = piece.Select(b => new[] { b }).ToList();
        while (parts.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(Convert.ToBase64String([.. parts[i], .. parts[i + 1]]), out var r) && r < bestRank)
                {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            parts[best] = [.. parts[best], .. parts[best + 1]];
            parts.RemoveAt(best + 1);
        }
        return parts.Select(p => ranks[Convert.ToBase64String(p)]).ToList();
    }

    [Fact]
    public void Encoding_matches_tiktoken_merge_rule_on_a_corpus()
    {
        var lines = File.ReadAllLines(Fixtures.Path("tiny-a", "tiktoken.model"));
        var ranks = lines.Select(l => l.Split(' ')).ToDictionary(p => p[0], p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        var tok = TestData.TinyATokenizer;
        var rng = new Random(5);
        var words = new[] { "the", "The", "speech", "recording", "audio", "transcribe", "quick", "brown", "fox", "in", "and", "sound", "'s", "'ll", "don't", "12345", "3.5", "café", "naïve", "中文", "音频", "😀", "\t", "\n", "\r\n", "  ", "!!", "...", "<|im_media_begin|>", "—", "ÿ" };
        for (int n = 0; n < 300; n++)
        {
            var sb = new StringBuilder();
            int count = rng.Next(1, 12);
            for (int i = 0; i < count; i++)
            {
                if (rng.Next(3) > 0) sb.Append(' ');
                sb.Append(words[rng.Next(words.Length)]);
            }
            var text = sb.ToString();
            var want = Regex.Matches(text, KimiTextTokenizer.Pattern).SelectMany(m => ReferenceBpe(Encoding.UTF8.GetBytes(m.Value), ranks)).ToList();
            Assert.Equal(want, tok.Encode(text));
        }
    }

    [Fact]
    public void Generated_tokenizer_learns_merges_that_the_tokenizer_uses()
    {
        var ranks = TinyLlmCheckpoint.BuildRanks(80);
        Assert.Equal(336, ranks.Count);
        Assert.Equal("!"u8.ToArray(), ranks[0]);
        Assert.Equal(256, ranks.Take(256).Select(r => r[0]).Distinct().Count());
        Assert.All(ranks.Skip(256), r => Assert.True(r.Length > 1));
        Assert.Equal(ranks.Count, ranks.Select(Convert.ToBase64String).Distinct().Count());
    }
}
