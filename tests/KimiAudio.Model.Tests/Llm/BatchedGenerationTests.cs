using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

[Collection("Torch")]
public class BatchedGenerationTests
{
    private sealed record Run(GenerationOutput Output, List<Tensor> Text, List<Tensor> Audio);

    private static List<Run> Generate(KimiaLlm llm, IReadOnlyList<GenerationRequest> requests)
    {
        var gen = new KimiGenerator(llm, TestData.TinyATokenizer.Special);
        var text = requests.Select(_ => new List<Tensor>()).ToArray();
        var audio = requests.Select(_ => new List<Tensor>()).ToArray();
        gen.OnStep = (_, rows, logits) =>
        {
            for (int i = 0; i < rows.Count; i++)
            {
                text[rows[i]].Add(logits.Text[i].clone().DetachFromDisposeScope());
                audio[rows[i]].Add(logits.Audio[i].clone().DetachFromDisposeScope());
            }
        };
        var outputs = gen.Generate(requests);
        return outputs.Select((o, i) => new Run(o, text[i], audio[i])).ToList();
    }

    private static List<GenerationRequest> MixedRequests(SamplingOptions sampling)
    {
        var cfg = TestData.TinyAConfig;
        var builder = new PromptBuilder(TestData.TinyATokenizer, cfg);
        using var asr = ParityCase.Open(Fixtures.Path("asr-short"));
        var asrMessages = LlmParity.Messages(asr, cfg.TokenOffset);
        var q1 = TestData.Audio(cfg, 17, 21);
        var a1 = TestData.Audio(cfg, 9, 22, features: false);
        var q2 = TestData.Audio(cfg, 5, 23);
        return
        [
            new(builder.Build(asrMessages, KimiOutputType.Text), KimiOutputType.Text, sampling, 12),
            new(builder.Build([KimiMessage.UserAudio(q1)], KimiOutputType.Both), KimiOutputType.Both, sampling, 14),
            new(builder.Build([KimiMessage.UserText("What is said?"), KimiMessage.UserAudio(q2)], KimiOutputType.Text), KimiOutputType.Text, sampling, 9),
            new(builder.Build([KimiMessage.UserAudio(q1), KimiMessage.AssistantAudioText(a1, "sure"), KimiMessage.UserAudio(q2)], KimiOutputType.Both), KimiOutputType.Both, sampling, 16),
            new(builder.Build([KimiMessage.UserText("emotion?"), KimiMessage.UserAudio(q2), KimiMessage.UserAudio(q1)], KimiOutputType.Text), KimiOutputType.Text, sampling, 11),
        ];
    }

    private static void AssertBatchEqualsSingles(SamplingOptions sampling)
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        var requests = MixedRequests(sampling);
        Assert.True(requests.Select(r => r.Prompt.Length).Distinct().Count() >= 4, "prompts must differ in length");
        var batched = Generate(llm, requests);
        for (int i = 0; i < requests.Count; i++)
        {
            var single = Generate(llm, [requests[i]])[0];
            var b = batched[i];
            Assert.Equal(single.Output.StepTextIds, b.Output.StepTextIds);
            Assert.Equal(single.Output.StepAudioIds, b.Output.StepAudioIds);
            Assert.Equal(single.Output.GeneratedTextIds, b.Output.GeneratedTextIds);
            Assert.Equal(single.Output.GeneratedAudioIds, b.Output.GeneratedAudioIds);
            Assert.Equal(single.Output.Stop, b.Output.Stop);
            Assert.Equal(single.Text.Count, b.Text.Count);
            // a text answer whose audio stream cannot matter (greedy text or greedy audio) skips the audio branch alone;
            // in a batch with speech rows its audio logits are computed but never sampled, so only used ones are compared
            bool usesAudio = requests[i].Output == KimiOutputType.Both || (!sampling.Text.IsGreedy && !sampling.Audio.IsGreedy);
            for (int s = 0; s < single.Text.Count; s++)
            {
                double scale = single.Text[s].abs().max().item<float>();
                Assert.True((single.Text[s] - b.Text[s]).abs().max().item<float>() <= 1e-4 * scale, $"row {i} step {s}: text logits differ");
                if (!usesAudio)
                {
                    Assert.True(single.Audio[s].NumberOfElements == 0, $"row {i} step {s}: a text-only row alone ran the audio branch");
                    continue;
                }
                Assert.True((single.Audio[s] - b.Audio[s]).abs().max().item<float>() <= 1e-4 * single.Audio[s].abs().max().item<float>(), $"row {i} step {s}: audio logits differ");
            }
        }
    }

    [Fact]
    public void Each_row_of_a_greedy_batch_equals_its_run_alone()
    {
        AssertBatchEqualsSingles(SamplingOptions.Greedy);
    }

    [Fact]
    public void Each_row_of_a_sampled_batch_equals_its_run_alone()
    {
        AssertBatchEqualsSingles(new SamplingOptions
        {
            Text = new StreamSampling(0.9, 5, 1.1, 4),
            Audio = new StreamSampling(0.8, 10, 1.2, 3),
            Seed = 1234,
        });
    }

    [Fact]
    public void Each_row_equals_its_run_alone_with_the_recommended_sampling_greedy_text_and_sampled_speech()
    {
        // the worker's sampling: the text rows skip their audio stream (never drawn), the speech rows draw theirs
        Assert.True(SamplingOptions.Recommended.Text.IsGreedy && !SamplingOptions.Recommended.Audio.IsGreedy);
        AssertBatchEqualsSingles(SamplingOptions.Recommended with { Seed = 77 });
    }

    [Fact]
    public void Rows_stop_on_their_own_bound_and_the_fixture_row_keeps_its_greedy_ids()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        var runs = Generate(llm, MixedRequests(SamplingOptions.Greedy));
        using var asr = ParityCase.Open(Fixtures.Path("asr-short"));
        using var expected = asr.Expected.Read("step_text_ids");
        Assert.Equal(expected.data<long>().ToArray(), runs[0].Output.StepTextIds);
        Assert.InRange(runs[2].Output.StepTextIds.Length, 1, 9);
        Assert.All(runs, r => Assert.True(r.Output.StepTextIds.Length == r.Text.Count));
    }
}
