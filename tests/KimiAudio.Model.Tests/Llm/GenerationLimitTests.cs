using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

[Collection("Torch")]
public class GenerationLimitTests
{
    [Fact]
    public void Loop_bound_follows_the_reference_rule_with_an_override()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        var gen = new KimiGenerator(llm, TestData.TinyATokenizer.Special);
        Assert.Equal(1500 - 54, gen.LoopBound(54, KimiOutputType.Both, -1));
        Assert.Equal(12, gen.LoopBound(54, KimiOutputType.Both, 12));
        Assert.Equal(1500 - 54, gen.LoopBound(54, KimiOutputType.Both, 5000));
        Assert.Equal(7500 - 136, gen.LoopBound(136, KimiOutputType.Text, -1));
        Assert.Equal(20, gen.LoopBound(136, KimiOutputType.Text, 20));
        Assert.Equal(8192 - 136, gen.LoopBound(136, KimiOutputType.Text, 100_000));
        var ex = Assert.Throws<ContextLimitException>(() => gen.LoopBound(1500, KimiOutputType.Both, -1));
        Assert.Contains("1500", ex.Message);
        Assert.Throws<ContextLimitException>(() => gen.LoopBound(7600, KimiOutputType.Text, -1));
    }

    [Fact]
    public void Too_long_audio_is_a_clear_per_request_error_and_other_requests_still_run()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        var longAudio = TestData.Audio(model.Config, 1600, 1); // 128 s of speech tokens
        var shortAudio = TestData.Audio(model.Config, 12, 2);
        var results = model.Generate(
        [
            new KimiAudioRequest { Task = KimiTask.Chat, Messages = [KimiMessage.UserAudio(longAudio)] },
            new KimiAudioRequest { Messages = [KimiMessage.UserText(TaskTemplates.AsrInstruction), KimiMessage.UserAudio(shortAudio)], MaxNewTokens = 4 },
            new KimiAudioRequest { Task = KimiTask.Qa, Audios = [new float[16000]] },
        ], CancellationToken.None);
        Assert.False(results[0].Succeeded);
        Assert.Contains("no room", results[0].Error);
        Assert.True(results[1].Succeeded, results[1].Error);
        Assert.InRange(results[1].Timings!.Steps, 1, 4);
        Assert.False(results[2].Succeeded);
        Assert.Contains("question", results[2].Error);
    }

    [Fact]
    public void Cancellation_stops_generation()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var audio = TestData.Audio(model.Config, 5, 3);
        Assert.Throws<OperationCanceledException>(() => model.Generate([new KimiAudioRequest { Messages = [KimiMessage.UserAudio(audio)] }], cts.Token));
    }
}
