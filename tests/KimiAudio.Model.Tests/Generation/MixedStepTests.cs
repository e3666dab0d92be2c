using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Tests.Llm;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Generation;

/// <summary>
/// A step with both decoding rows and newcomers' prefill chunks in one forward (<see cref="GenerationEngine.MixedSteps"/>)
/// against the same schedule run as two forwards per step: same ids, logits within 1e-4, on the real tiny-a model.
/// </summary>
[Collection("Torch")]
public class MixedStepTests
{
    private sealed record Run(Dictionary<int, GenerationOutput> Outputs, Dictionary<(int Row, int Step), (float[] Text, float[] Audio)> Logits, int MixedSteps);

    private static GenerationRequest Request(KimiaLlm llm, KimiSpecialTokens special, int length, int seed, KimiOutputType output, int bound)
    {
        var rng = new Random(seed);
        var c = llm.Config;
        var audio = Enumerable.Range(0, length).Select(_ => rng.NextInt64(c.TokenOffset, c.VocabSize)).ToArray();
        var text = Enumerable.Range(0, length).Select(_ => rng.NextInt64(0, special.NumBaseTokens)).ToArray();
        var prompt = new KimiPrompt { AudioIds = audio, TextIds = text, ContinuousMask = new bool[length], Segments = [] };
        var sampling = SamplingOptions.Recommended with { Seed = (ulong)seed };
        return new GenerationRequest(prompt, output, sampling, bound);
    }

    private static Run Schedule(KimiaLlm llm, bool mixed)
    {
        var special = new KimiSpecialTokens(llm.Config.NumBaseTokens);
        var logits = new Dictionary<(int, int), (float[], float[])>();
        using var engine = new GenerationEngine(llm, special, 4, 256, prefillChunk: 9) { MixedSteps = mixed };
        engine.OnLogits = (rows, l) =>
        {
            for (int i = 0; i < rows.Count; i++)
                logits[((int)rows[i].Tag!, rows[i].Steps)] = (l.Text[i].data<float>().ToArray(), l.Audio[i].contiguous().data<float>().ToArray());
        };
        var rows = new List<GenerationRow> { engine.Admit(Request(llm, special, 12, 1, KimiOutputType.Both, 20), 0) };
        var outputs = new Dictionary<int, GenerationOutput>();
        int step = 0, both = 0;
        while (engine.ActiveRows > 0 || rows.Count < 4)
        {
            // newcomers join rows that are decoding: a 30-token prompt (four chunks of 9) and a 5-token one, then a text row
            if (step == 3) rows.Add(engine.Admit(Request(llm, special, 30, 2, KimiOutputType.Both, 14), 1));
            if (step == 4) rows.Add(engine.Admit(Request(llm, special, 5, 3, KimiOutputType.Text, 10), 2));
            if (step == 9) rows.Add(engine.Admit(Request(llm, special, 17, 4, KimiOutputType.Both, 8), 3));
            if (engine.Rows.Any(r => r.Prefilling) && engine.Rows.Any(r => !r.Prefilling)) both++;
            foreach (var r in engine.Step()) outputs[(int)r.Tag!] = r.ToOutput(llm.Config.AudioDelayTokens);
            step++;
        }
        return new Run(outputs, logits, both);
    }

    [Fact]
    public void One_forward_for_decoding_and_prefilling_rows_equals_two()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        var mixed = Schedule(llm, mixed: true);
        var split = Schedule(llm, mixed: false);
        Assert.True(mixed.MixedSteps >= 4, $"only {mixed.MixedSteps} steps had both decoding and prefilling rows");
        Assert.Equal(4, mixed.Outputs.Count);
        foreach (var (row, o) in split.Outputs)
        {
            Assert.Equal(o.StepTextIds, mixed.Outputs[row].StepTextIds);
            Assert.Equal(o.StepAudioIds, mixed.Outputs[row].StepAudioIds);
        }
        Assert.Equal(split.Logits.Keys.Order(), mixed.Logits.Keys.Order());
        foreach (var (key, (text, audio)) in split.Logits)
        {
            var (mt, ma) = mixed.Logits[key];
            Assert.True(text.Zip(mt).All(p => Math.Abs(p.First - p.Second) <= 1e-4), $"text logits of row {key.Item1} step {key.Item2}");
            Assert.Equal(audio.Length, ma.Length);
            Assert.True(audio.Zip(ma).All(p => Math.Abs(p.First - p.Second) <= 1e-4), $"audio logits of row {key.Item1} step {key.Item2}");
        }
    }
}
