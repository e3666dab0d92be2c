using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.Parity;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

public class BatchTests(TinyFrontEnd tiny) : IClassFixture<TinyFrontEnd>
{
    private static List<float[]> Audios() =>
    [
        Pcm16Wav.Read(Fixtures.Path("asr-short", "input.wav")),
        Pcm16Wav.Read(Fixtures.Path("chat-short", "input.wav")),
        TinyFrontEnd.Signal(31 * 16000 + 1280, 9),     // two segments, the second exactly one token stride long
        TinyFrontEnd.Signal(700, 10),
    ];

    [Fact]
    public void Each_row_of_a_batch_equals_the_audio_run_alone()
    {
        var audios = Audios();
        var fe = tiny.FrontEnd;
        fe.MaxSegmentsPerForward = 3;   // forces rows of different audios into the same encoder batch
        try
        {
            using var features = fe.ContinuousFeaturesBatch(audios);
            using var tokens = fe.TokenizeBatch(audios);
            Assert.Equal(audios.Select(a => AudioSegmentation.TotalTokens(a.Length)), features.Lengths);
            Assert.Equal(features.Lengths, tokens.Lengths);
            Assert.Equal(new long[] { 4, features.Lengths.Max(), 256 }, features.Features.shape);
            for (int i = 0; i < audios.Count; i++)
            {
                using var alone = fe.ContinuousFeatures(audios[i]);
                using var row = features.Row(i);
                double scale = alone.abs().max().item<float>();
                Assert.True(row.sub(alone).abs().max().item<float>() <= 1e-6 * scale, $"audio {i} features differ");
                Assert.Equal(fe.Tokenize(audios[i]), tokens.Row(i));
                // padding is marked and zero
                Assert.Equal(features.Lengths[i], features.Mask[i].sum().item<long>());
                Assert.Equal(tokens.Lengths[i], tokens.Mask[i].sum().item<long>());
                if (features.Lengths[i] < features.Lengths.Max())
                {
                    Assert.Equal(0f, features.Features[i].narrow(0, features.Lengths[i], features.Lengths.Max() - features.Lengths[i]).abs().max().item<float>());
                    Assert.Equal(-1L, tokens.Ids[i, features.Lengths.Max() - 1].item<long>());
                }
            }
        }
        finally
        {
            fe.MaxSegmentsPerForward = 16;
        }
    }

    [Fact]
    public void Bfloat16_whisper_features_stay_close_to_float32()
    {
        var x = Audios()[1];
        using var bf = AudioFrontEnd.Load(Fixtures.Path("tiny-a", "whisper-large-v3"), Fixtures.Path("tiny-a", "glm-4-voice-tokenizer"), CPU, ScalarType.BFloat16);
        using var a = bf.ContinuousFeatures(x);
        Assert.Equal(ScalarType.BFloat16, a.dtype);
        using var b = tiny.FrontEnd.ContinuousFeatures(x);
        Assert.Equal(b.shape, a.shape);
        double scale = b.abs().max().item<float>();
        double err = a.to(ScalarType.Float32).sub(b).abs().max().item<float>();
        Assert.True(err < 0.05 * scale, $"bf16 error {err} vs max {scale}");
        Assert.True(err > 0, "bf16 should not be bit-identical to float32");
        // the tokenizer runs in float32 regardless, as the reference does
        Assert.Equal(tiny.FrontEnd.Tokenize(x), bf.Tokenize(x));
    }
}
