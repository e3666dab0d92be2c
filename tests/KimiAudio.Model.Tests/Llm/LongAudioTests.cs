using KimiAudio.Model.Generation;
using KimiAudio.Model.Prompting;

namespace KimiAudio.Model.Tests.Llm;

[Collection("Torch")]
public class LongAudioTests
{
    private static float[] Tone(double seconds)
    {
        var x = new float[(int)(seconds * 16000)];
        for (int i = 0; i < x.Length; i++) x[i] = 0.3f * MathF.Sin(2 * MathF.PI * (220 + (i / 16000) * 40) * i / 16000f);
        return x;
    }

    [Fact]
    public void Audio_longer_than_30_s_is_segmented_and_transcribed()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        var audio = Tone(65);
        var prompt = model.BuildPrompt(new KimiAudioRequest { Task = KimiTask.Asr, Audios = [audio] });
        int n = 375 + 375 + (80000 - 1) / 1280 + 1; // 30 s + 30 s + 5 s segments
        int k = model.Tokenizer.Encode(TaskTemplates.AsrInstruction).Count;
        Assert.Equal(k + n + 6, prompt.Length);
        Assert.Equal(n, prompt.Segments.Single().Length);
        var r = model.Generate([new KimiAudioRequest { Task = KimiTask.Asr, Audios = [audio], MaxNewTokens = 3 }], CancellationToken.None)[0];
        Assert.True(r.Succeeded, r.Error);
        Assert.Equal(prompt.Length, r.PromptLength);
    }

    [Fact]
    public void Speech_reply_to_audio_past_the_context_limit_fails_clearly()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        var r = model.Generate([new KimiAudioRequest { Task = KimiTask.Chat, Audios = [Tone(125)] }], CancellationToken.None)[0];
        Assert.False(r.Succeeded);
        Assert.Contains("1500", r.Error);
        Assert.Contains("s at 12.5 Hz", r.Error);
    }
}
