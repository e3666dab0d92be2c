using KimiAudio.Model.Prompting;

namespace KimiAudio.Model.Tests.Llm;

public class PromptBuilderTests
{
    private static readonly PromptBuilder Builder = new(TestData.TinyATokenizer, TestData.TinyAConfig);
    private static readonly Text.KimiSpecialTokens Sp = TestData.TinyATokenizer.Special;
    private static readonly int Offset = TestData.TinyAConfig.TokenOffset;

    private static void AssertWellFormed(KimiPrompt p)
    {
        Assert.Equal(p.AudioIds.Length, p.TextIds.Length);
        Assert.Equal(p.AudioIds.Length, p.ContinuousMask.Length);
        Assert.Equal(p.ContinuousMask.Count(m => m), p.Segments.Sum(s => s.Length));
        foreach (var s in p.Segments)
        {
            Assert.Equal(Sp.MediaBegin, p.AudioIds[s.Start - 1]);
            Assert.Equal(Sp.MediaEnd, p.AudioIds[s.Start + s.Length]);
        }
    }

    [Fact]
    public void Asr_template_is_role_instruction_media_ct_msg_end_assistant()
    {
        var audio = TestData.Audio(TestData.TinyAConfig, 9, 1);
        var p = Builder.Build([KimiMessage.UserText(TaskTemplates.AsrInstruction), KimiMessage.UserAudio(audio)], KimiOutputType.Text);
        var k = TestData.TinyATokenizer.Encode(TaskTemplates.AsrInstruction);
        long b = Sp.Blank;
        var expectA = new List<long> { Sp.UserStart };
        expectA.AddRange(Enumerable.Repeat(b, k.Count));
        expectA.Add(Sp.MediaBegin);
        expectA.AddRange(audio.SemanticIds.Select(s => s + Offset));
        expectA.AddRange([Sp.MediaEnd, Sp.SpeechCt, Sp.MsgEnd, Sp.AssistantStart]);
        var expectT = new List<long> { b };
        expectT.AddRange(k.Select(x => (long)x));
        expectT.AddRange(Enumerable.Repeat(b, 9 + 5));
        Assert.Equal(expectA, p.AudioIds);
        Assert.Equal(expectT, p.TextIds);
        Assert.Equal(k.Count + 9 + 6, p.Length);
        Assert.Equal(Enumerable.Range(0, p.Length).Select(i => i >= k.Count + 2 && i < k.Count + 11), p.ContinuousMask);
        AssertWellFormed(p);
    }

    [Fact]
    public void Conversation_with_speech_output_uses_ctd()
    {
        var audio = TestData.Audio(TestData.TinyAConfig, 5, 2);
        var p = Builder.Build([KimiMessage.UserAudio(audio)], KimiOutputType.Both);
        Assert.Equal(5 + 6, p.Length);
        Assert.Equal(new long[] { Sp.UserStart, Sp.MediaBegin }, p.AudioIds[..2]);
        Assert.Equal(new long[] { Sp.MediaEnd, Sp.SpeechCtd, Sp.MsgEnd, Sp.AssistantStart }, p.AudioIds[^4..]);
        Assert.All(p.TextIds, t => Assert.Equal(Sp.Blank, t));
        AssertWellFormed(p);
    }

    [Fact]
    public void Consecutive_messages_of_one_role_share_the_role_token_and_close_once()
    {
        var a1 = TestData.Audio(TestData.TinyAConfig, 4, 3);
        var a2 = TestData.Audio(TestData.TinyAConfig, 6, 4);
        var p = Builder.Build([KimiMessage.UserText("one"), KimiMessage.UserText("two"), KimiMessage.UserAudio(a1), KimiMessage.UserAudio(a2)], KimiOutputType.Text);
        Assert.Equal(1, p.AudioIds.Count(a => a == Sp.UserStart));
        Assert.Equal(1, p.AudioIds.Count(a => a == Sp.SpeechCt));
        Assert.Equal(1, p.AudioIds.Count(a => a == Sp.MsgEnd));
        Assert.Equal(2, p.Segments.Count);
        Assert.Same(a1.Features, p.Segments[0].Features);
        Assert.Same(a2.Features, p.Segments[1].Features);
        Assert.True(p.Segments[0].Start < p.Segments[1].Start);
        // first audio ends with media_end directly followed by the second media_begin (no ct, no msg_end)
        Assert.Equal(Sp.MediaBegin, p.AudioIds[p.Segments[0].Start + 4 + 1]);
        AssertWellFormed(p);
    }

    [Fact]
    public void Assistant_text_gets_text_eos_and_every_role_run_closes()
    {
        var q = TestData.Audio(TestData.TinyAConfig, 3, 5);
        var p = Builder.Build([KimiMessage.UserText("hi"), KimiMessage.AssistantText("ok"), KimiMessage.UserAudio(q)], KimiOutputType.Text);
        var hi = TestData.TinyATokenizer.Encode("hi").Select(x => (long)x).ToList();
        var ok = TestData.TinyATokenizer.Encode("ok").Select(x => (long)x).ToList();
        long b = Sp.Blank;
        var expectA = new List<long> { Sp.UserStart };
        expectA.AddRange(Enumerable.Repeat(b, hi.Count));
        expectA.Add(Sp.MsgEnd);
        expectA.Add(Sp.AssistantStart);
        expectA.AddRange(Enumerable.Repeat(b, ok.Count + 1));
        expectA.Add(Sp.MsgEnd);
        expectA.AddRange([Sp.UserStart, Sp.MediaBegin]);
        expectA.AddRange(q.SemanticIds.Select(s => s + Offset));
        expectA.AddRange([Sp.MediaEnd, Sp.SpeechCt, Sp.MsgEnd, Sp.AssistantStart]);
        Assert.Equal(expectA, p.AudioIds);
        var expectT = new List<long> { b };
        expectT.AddRange(hi);
        expectT.AddRange([b, b]);
        expectT.AddRange(ok);
        expectT.AddRange([Sp.TextEos, b]);
        expectT.AddRange(Enumerable.Repeat(b, 3 + 6));
        Assert.Equal(expectT, p.TextIds);
        AssertWellFormed(p);
    }

    [Fact]
    public void Spoken_assistant_history_is_delayed_and_not_continuous()
    {
        var q1 = TestData.Audio(TestData.TinyAConfig, 4, 6);
        var a1 = TestData.Audio(TestData.TinyAConfig, 5, 7, features: false);
        var q2 = TestData.Audio(TestData.TinyAConfig, 3, 8);
        var p = Builder.Build([KimiMessage.UserAudio(q1), KimiMessage.AssistantAudioText(a1, "yes"), KimiMessage.UserAudio(q2)], KimiOutputType.Both);
        int d = TestData.TinyAConfig.AudioDelayTokens;
        var yes = TestData.TinyATokenizer.Encode("yes").Select(x => (long)x).ToList();
        int start = 1 + 1 + 4 + 1 + 1 + 1; // user role, media_begin, q1, media_end, ctd, msg_end
        Assert.Equal(Sp.AssistantStart, p.AudioIds[start]);
        var turnA = p.AudioIds.Skip(start + 1).Take(d + 5).ToList();
        var turnT = p.TextIds.Skip(start + 1).Take(d + 5).ToList();
        Assert.Equal(Enumerable.Repeat((long)Sp.Blank, d).Concat(a1.SemanticIds.Select(s => s + Offset)), turnA);
        Assert.Equal(yes.Concat(Enumerable.Repeat((long)Sp.Blank, d + 5 - yes.Count)), turnT);
        Assert.Equal(Sp.MsgEnd, p.AudioIds[start + 1 + d + 5]);
        Assert.All(Enumerable.Range(start, d + 7), i => Assert.False(p.ContinuousMask[i]));
        Assert.Equal(2, p.Segments.Count);
        Assert.Equal(2, p.AudioIds.Count(a => a == Sp.SpeechCtd));
        AssertWellFormed(p);
    }

    [Fact]
    public void Transcript_longer_than_its_speech_is_rejected()
    {
        var a1 = TestData.Audio(TestData.TinyAConfig, 1, 9, features: false);
        var text = string.Join(" ", Enumerable.Repeat("word", 40));
        var ex = Assert.Throws<ArgumentException>(() => Builder.Build([KimiMessage.UserText("x"), KimiMessage.AssistantAudioText(a1, text)], KimiOutputType.Both));
        Assert.Contains("transcript", ex.Message);
    }

    [Fact]
    public void Features_of_the_wrong_shape_are_rejected()
    {
        var audio = TestData.Audio(TestData.TinyAConfig, 5, 10);
        var shortF = new EncodedAudio(audio.SemanticIds, audio.Features!.narrow(0, 0, 3));
        var ex = Assert.Throws<ArgumentException>(() => Builder.Build([KimiMessage.UserAudio(shortF)], KimiOutputType.Text));
        Assert.Contains("[3, 256]", ex.Message);
        var missing = new EncodedAudio(audio.SemanticIds, null);
        Assert.Throws<ArgumentException>(() => Builder.Build([KimiMessage.UserAudio(missing)], KimiOutputType.Text));
        var raw = KimiMessage.UserAudio(new float[1600]);
        Assert.Throws<InvalidOperationException>(() => Builder.Build([raw], KimiOutputType.Text));
    }

    [Fact]
    public void Task_templates_put_the_instruction_before_the_audio()
    {
        var a = KimiMessage.UserAudio(TestData.Audio(TestData.TinyAConfig, 2, 11));
        var asr = TaskTemplates.Messages(KimiTask.Asr, [a], null);
        Assert.Equal(TaskTemplates.AsrInstruction, asr[0].Text);
        Assert.Same(a, asr[1]);
        Assert.Single(TaskTemplates.Messages(KimiTask.Chat, [a], null));
        Assert.Equal("What is it?", TaskTemplates.Messages(KimiTask.Qa, [a], "What is it?")[0].Text);
        Assert.Throws<ArgumentException>(() => TaskTemplates.Messages(KimiTask.Qa, [a], null));
        Assert.StartsWith("Identify the predominant emotion", TaskTemplates.Messages(KimiTask.Emotion, [a], null)[0].Text);
        Assert.Equal(KimiOutputType.Both, TaskTemplates.DefaultOutput(KimiTask.Chat));
    }
}
