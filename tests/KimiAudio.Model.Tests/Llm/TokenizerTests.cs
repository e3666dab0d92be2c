using System.Text.Json;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Text;

namespace KimiAudio.Model.Tests.Llm;

public class TokenizerTests
{
    private static readonly KimiTextTokenizer Tok = TestData.TinyATokenizer;

    [Fact]
    public void Special_ids_are_derived_from_the_rank_count_as_the_fixture_lists_them()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("asr-short", "case.json")));
        var ids = doc.RootElement.GetProperty("special_ids");
        var sp = Tok.Special;
        Assert.Equal(ids.GetProperty("msg_end").GetInt32(), sp.MsgEnd);
        Assert.Equal(ids.GetProperty("media_begin").GetInt32(), sp.MediaBegin);
        Assert.Equal(ids.GetProperty("media_end").GetInt32(), sp.MediaEnd);
        Assert.Equal(ids.GetProperty("blank").GetInt32(), sp.Blank);
        Assert.Equal(ids.GetProperty("text_eos").GetInt32(), sp.TextEos);
        Assert.Equal(ids.GetProperty("user_start").GetInt32(), sp.UserStart);
        Assert.Equal(ids.GetProperty("assistant_start").GetInt32(), sp.AssistantStart);
        Assert.Equal(ids.GetProperty("ct").GetInt32(), sp.SpeechCt);
        Assert.Equal(ids.GetProperty("ctd").GetInt32(), sp.SpeechCtd);
        Assert.Equal(ids.GetProperty("pad").GetInt32(), sp.Pad);
        Assert.Equal(421, KimiSpecialTokens.Names.Count);
        Assert.Equal(TestData.TinyAConfig.TokenOffset, sp.End);
    }

    [Fact]
    public void Real_vocabulary_ids_match_the_spec_table()
    {
        var sp = new KimiSpecialTokens(151643);
        Assert.Equal(151645, sp.MsgEnd);
        Assert.Equal(151661, sp.MediaBegin);
        Assert.Equal(151663, sp.MediaEnd);
        Assert.Equal(151666, sp.Blank);
        Assert.Equal(151667, sp.TextEos);
        Assert.Equal(151670, sp.UserStart);
        Assert.Equal(151671, sp.AssistantStart);
        Assert.Equal(151675, sp.SpeechCt);
        Assert.Equal(151676, sp.SpeechCtd);
        Assert.Equal(152063, sp.Pad);
        Assert.Equal("<|reserved_token_20|>", sp.NameOf(151677));
        Assert.Equal(152064, sp.End);
    }

    [Theory]
    [InlineData("Please transcribe the following audio:")]
    [InlineData("héllo wörld 42! 3.14159")]
    [InlineData("请将音频内容转换为文字。")]
    [InlineData("emoji 😀👍🏽 and tabs\t\tand\r\nnewlines\n\n  ")]
    [InlineData("<|im_media_begin|> is text here")]
    [InlineData("")]
    public void Round_trip_is_exact(string text)
    {
        var ids = Tok.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, Tok.NumBaseTokens - 1));
        Assert.Equal(text, Tok.Decode(ids));
    }

    [Fact]
    public void Special_strings_in_text_are_plain_text_unless_asked_for()
    {
        var plain = Tok.Encode("<|im_media_begin|>");
        Assert.DoesNotContain(Tok.Special.MediaBegin, plain);
        Assert.True(plain.Count > 1);
        Assert.Equal(new[] { Tok.Special.MediaBegin }, Tok.EncodeWithSpecialTokens("<|im_media_begin|>"));
    }

    [Fact]
    public void Merges_are_used_and_digits_are_split()
    {
        var ids = Tok.Encode(" the the the");
        Assert.True(ids.Count < " the the the".Length, "BPE merges should shorten common English");
        Assert.Equal(3, Tok.Encode("123").Count);
    }

    [Fact]
    public void Invalid_utf8_decodes_with_replacement_characters()
    {
        // byte tokens: 0xE4 0xB8 is a truncated 3-byte sequence, 0xFF is never valid
        var e4 = Tok.Encode("中")[0];
        var bytes = Enumerable.Range(0, Tok.NumBaseTokens).Where(i => Tok.Decode([i]) == "\uFFFD").ToList();
        Assert.NotEmpty(bytes);
        Assert.Equal("\uFFFDa", Tok.Decode([e4, Tok.Encode("a")[0]]));
        Assert.Equal("<|im_kimia_text_blank|>", Tok.Decode([Tok.Special.Blank]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([Tok.VocabSize]));
    }

    [Fact]
    public void Long_runs_are_split_like_the_reference()
    {
        var text = new string(' ', 30_000) + "ab";
        var pieces = KimiTextTokenizer.SplitLikeReference(text).ToList();
        Assert.Equal(2, pieces.Count);
        Assert.Equal(25_000, pieces[0].Length);
        Assert.Equal(text, string.Concat(pieces));
        Assert.Equal(text, Tok.Decode(Tok.Encode(text)));
    }

    [Fact]
    public void Tokenizer_config_that_disagrees_is_rejected()
    {
        using var temp = new TempDir("tok-");
        var dir = temp.Path;
        File.Copy(Fixtures.Path("tiny-a", "tiktoken.model"), Path.Combine(dir, "tiktoken.model"));
        var cfg = File.ReadAllText(Fixtures.Path("tiny-a", "tokenizer_config.json")).Replace("<|im_media_begin|>", "<|im_media_start|>");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), cfg);
        var ex = Assert.Throws<CheckpointException>(() => KimiTextTokenizer.Load(dir));
        Assert.Contains("<|im_media_start|>", ex.Message);
    }
}
