using KimiAudio.Model.Generation;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

[Collection("Torch")]
public class SamplerTests
{
    private static readonly StreamSampling Greedy = new(0, 5, 1.0, 16);

    private static long One(Tensor logits, StreamSampling o, IReadOnlyList<long>? recent = null, Generator? g = null) =>
        Sampler.Sample(logits.unsqueeze(0), [o], [recent ?? []], [g])[0];

    [Fact]
    public void Greedy_takes_the_first_index_on_ties()
    {
        using var z = tensor(new float[] { 0.1f, 2f, -1f, 2f });
        Assert.Equal(1, One(z, Greedy));
    }

    [Fact]
    public void Penalty_applies_only_past_the_window_and_once_per_id()
    {
        using var z = tensor(new float[] { 3.0f, 2.9f, -1f, -1.05f });
        var o = new StreamSampling(0, 5, 2.0, 2);
        // history length == window: no penalty
        Assert.Equal(0, One(z, o, [0, 0]));
        // longer: id 0 (positive) divided by 2 → 1.5 < 2.9; repeated ids penalised once
        Assert.Equal(1, One(z, o, [5, 0, 0]));
        // negative logits are multiplied: id 2 → -2 < -1.05
        using var neg = tensor(new float[] { -1f, -1.05f });
        Assert.Equal(1, One(neg, new StreamSampling(0, 5, 2.0, 1), [1, 0]));
    }

    [Fact]
    public void Seeded_sampling_repeats_and_top_k_limits_the_choice()
    {
        using var z = tensor(Enumerable.Range(0, 50).Select(i => (float)(i % 7) * 0.3f).ToArray());
        var o = new StreamSampling(1.0, 3, 1.0, 16);
        long[] Draw(ulong seed)
        {
            using var g = new Generator(seed, CPU);
            return Enumerable.Range(0, 40).Select(_ => One(z, o, null, g)).ToArray();
        }
        var a = Draw(7);
        Assert.Equal(a, Draw(7));
        Assert.NotEqual(a, Draw(8));
        var top3 = z.topk(3).indexes.data<long>().ToArray();
        Assert.All(a, id => Assert.Contains(id, top3));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Text = new StreamSampling(-1, 5, 1, 16) }.Validate());
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Audio = new StreamSampling(0, -1, 1, 16) }.Validate());
    }
}
