using KimiAudio.Model.Generation;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

/// <summary>Wav in → text / semantic ids out through the facade (front-end + LLM), batched, against the fixtures.</summary>
[Collection("Torch")]
public class EndToEndTests
{
    [Fact]
    public void Facade_reproduces_both_public_cases_from_their_wav_files_in_one_batch()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        using var asr = ParityCase.Open(Fixtures.Path("asr-short"));
        using var chat = ParityCase.Open(Fixtures.Path("chat-short"));
        var asrWav = Pcm16Wav.Read(asr.ResolveInCase("input.wav"));
        var chatWav = Pcm16Wav.Read(chat.ResolveInCase("input.wav"));
        var results = model.Generate(
        [
            new KimiAudioRequest { Task = KimiTask.Asr, Audios = [asrWav], MaxNewTokens = 12 },
            new KimiAudioRequest { Task = KimiTask.Chat, Audios = [chatWav], MaxNewTokens = 12 },
        ], CancellationToken.None);

        Assert.All(results, r => Assert.True(r.Succeeded, r.Error));
        Assert.Equal(asr.Json.GetProperty("expected_text").GetString(), results[0].Text);
        using (var want = asr.Expected.Read("output_text_ids")) Assert.Equal(want.data<long>().ToArray(), results[0].TextIds);
        Assert.Equal(asr.Json.GetProperty("prompt_length").GetInt32(), results[0].PromptLength);
        Assert.Equal(StopReason.MaxNewTokens, results[0].Stop);
        Assert.Empty(results[0].SemanticIds);

        Assert.Equal(chat.Json.GetProperty("expected_text").GetString(), results[1].Text);
        using (var want = chat.Expected.Read("output_semantic_ids")) Assert.Equal(want.data<long>().ToArray(), results[1].SemanticIds);
        Assert.Equal(StopReason.AudioStop, results[1].Stop);
        Assert.Equal(chat.Json.GetProperty("steps_run").GetInt32(), results[1].Timings!.Steps);
        Assert.Equal(2, results[1].Timings!.BatchSize);
    }

    [Fact]
    public void Prompt_from_wav_matches_the_fixture_streams()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" });
        using var asr = ParityCase.Open(Fixtures.Path("asr-short"));
        var prompt = model.BuildPrompt(new KimiAudioRequest { Task = KimiTask.Asr, Audios = [Pcm16Wav.Read(asr.ResolveInCase("input.wav"))] });
        using var a = asr.Expected.Read("prompt_audio_ids");
        using var t = asr.Expected.Read("prompt_text_ids");
        Assert.Equal(a.data<long>().ToArray(), prompt.AudioIds);
        Assert.Equal(t.data<long>().ToArray(), prompt.TextIds);
        using var f = asr.Expected.Read("whisper_features_12hz");
        var got = prompt.Segments.Single().Features.to(ScalarType.Float32);
        Assert.True((got - f).abs().max().item<float>() <= 1e-4 * f.abs().max().item<float>());
    }
}
