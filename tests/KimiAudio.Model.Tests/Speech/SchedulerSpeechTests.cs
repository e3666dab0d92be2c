using KimiAudio.Model.Generation;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Speech;

/// <summary>Spoken replies through the continuous scheduler on a generated tiny checkpoint with every part.</summary>
[Collection("Torch")]
public class SchedulerSpeechTests
{
    private static readonly Lazy<string> Checkpoint = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("kimia-tiny-sched-speech-").FullName;
        TinyKimiAudioCheckpoint.Write(dir, seed: 11);
        return dir;
    });

    [Fact]
    public async Task Speech_rows_get_the_waveform_of_their_run_alone_and_text_rows_do_not_wait_for_them()
    {
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = Checkpoint.Value, DType = "float32" });
        var chatWav = Pcm16Wav.Read(Fixtures.Path("chat-short", "input.wav"));
        var asrWav = Pcm16Wav.Read(Fixtures.Path("asr-short", "input.wav"));
        var requests = new[]
        {
            new KimiAudioRequest { Task = KimiTask.Chat, Audios = [chatWav], MaxNewTokens = 40 },
            new KimiAudioRequest { Task = KimiTask.Chat, Audios = [chatWav], MaxNewTokens = 24, Sampling = SamplingOptions.Recommended with { Seed = 5 } },
            new KimiAudioRequest { Task = KimiTask.Asr, Audios = [asrWav], MaxNewTokens = 10 },
        };
        var alone = requests.Select(r => model.Generate([r], CancellationToken.None)[0]).ToArray();
        KimiAudioResult[] results;
        using (var s = new KimiAudioScheduler(model, new KimiAudioSchedulerOptions { MaxBatchSize = 3, PrefillChunkTokens = 32 }))
            results = await Task.WhenAll(requests.Select(r => s.SubmitAsync(r))).WaitAsync(TimeSpan.FromMinutes(3));

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.True(results[i].Succeeded, results[i].Error);
            Assert.Equal(alone[i].TextIds, results[i].TextIds);
            Assert.Equal(alone[i].SemanticIds, results[i].SemanticIds);
        }
        Assert.Null(results[2].Speech);
        foreach (int i in new[] { 0, 1 })
        {
            Assert.NotEmpty(results[i].SemanticIds);
            var want = alone[i].Speech!;
            var got = results[i].Speech!;
            Assert.Equal(want.Length, got.Length);
            Assert.Equal(1920 * results[i].SemanticIds.Length, got.Length);
            double scale = want.Max(Math.Abs), worst = 0;
            for (int k = 0; k < want.Length; k++) worst = Math.Max(worst, Math.Abs(want[k] - got[k]));
            Assert.True(worst <= 1e-3 * scale, $"row {i}: speech differs by {worst:E2} (max {scale:F3})");
        }
    }
}
