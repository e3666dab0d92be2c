using KimiAudio.Model.Generation;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Speech;

/// <summary>Wav in → text + 24 kHz speech out through the facade, on a generated tiny checkpoint with every part.</summary>
[Collection("Torch")]
public class SpokenReplyTests
{
    private static readonly Lazy<string> Checkpoint = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("kimia-tiny-speech-").FullName;
        TinyKimiAudioCheckpoint.Write(dir, seed: 11);
        return dir;
    });

    private static float[] Input() => Pcm16Wav.Read(Fixtures.Path("chat-short", "input.wav"));

    [Fact]
    public void Chat_returns_speech_of_1920_samples_per_semantic_id_next_to_the_text()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = Checkpoint.Value, DType = "float32" });
        Assert.NotNull(model.Detokenizer);
        var r = model.Generate([new KimiAudioRequest { Task = KimiTask.Chat, Audios = [Input()], MaxNewTokens = 40 }], CancellationToken.None)[0];

        Assert.True(r.Succeeded, r.Error);
        Assert.NotEmpty(r.SemanticIds);
        Assert.NotNull(r.Speech);
        Assert.Equal(24000, r.SpeechSampleRate);
        Assert.Equal(1920 * r.SemanticIds.Length, r.Speech!.Length);
        Assert.All(r.Speech, x => Assert.True(float.IsFinite(x)));
        Assert.True(r.Speech.Max(Math.Abs) > 0, "speech is silent");
    }

    [Fact]
    public void Streamed_pieces_concatenate_to_the_batch_waveform_and_repeat_with_the_seed()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = Checkpoint.Value, DType = "float32" });
        var sampling = SamplingOptions.Greedy with { Seed = 5 };
        var request = new KimiAudioRequest { Task = KimiTask.Chat, Audios = [Input()], MaxNewTokens = 60, Sampling = sampling };
        var a = model.Generate([request], CancellationToken.None)[0];
        var pair = model.Generate([request, request with { Task = KimiTask.Asr, Output = KimiAudioOutput.Text }], CancellationToken.None);
        var b = pair[0];
        Assert.Null(pair[1].Speech);

        Assert.Equal(a.SemanticIds, b.SemanticIds);
        Assert.Equal(a.Speech, b.Speech);
        var pieces = model.StreamSpeech(a, sampling, CancellationToken.None).ToList();
        Assert.True(pieces.Count >= 1);
        var streamed = pieces.SelectMany(p => p).ToArray();
        Assert.Equal(a.Speech!.Length, streamed.Length);
        for (int i = 0; i < streamed.Length; i++) Assert.True(Math.Abs(streamed[i] - a.Speech[i]) <= 1e-3f, $"sample {i} differs");
    }

    [Fact]
    public void Without_the_speech_half_chat_still_returns_semantic_ids_but_no_waveform()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = Checkpoint.Value, DType = "float32", LoadSpeech = false });
        Assert.Null(model.Detokenizer);
        var r = model.Generate([new KimiAudioRequest { Task = KimiTask.Chat, Audios = [Input()], MaxNewTokens = 40 }], CancellationToken.None)[0];
        Assert.True(r.Succeeded, r.Error);
        Assert.Null(r.Speech);
    }
}
