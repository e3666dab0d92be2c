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

    /// <summary>The reference's per-row draw (sample_audio_logits / sample_text_logits without a penalty), one row at a time.</summary>
    private static long ReferenceDraw(Tensor row, StreamSampling o, Generator g)
    {
        using var scope = NewDisposeScope();
        var scaled = row.to(ScalarType.Float32).log_softmax(-1) / o.Temperature;
        var probs = scaled.exp();
        if (o.TopK <= 0) return multinomial(probs, 1, generator: g).item<long>();
        var (vals, idx) = probs.topk(o.TopK);
        return idx.index_select(0, multinomial(vals, 1, generator: g)).item<long>();
    }

    [Fact]
    public void A_batch_draws_for_every_row_what_the_row_draws_alone_with_its_own_generator()
    {
        // rows of mixed settings: two share temperature and top-k (one batched draw), one full-vocabulary, one greedy
        var options = new[]
        {
            new StreamSampling(0.8, 10, 1.0, 64), new StreamSampling(0, 5, 1.0, 16),
            new StreamSampling(1.0, 0, 1.0, 16), new StreamSampling(0.8, 10, 1.0, 64),
        };
        using var logits = randn([options.Length, 1000], generator: new Generator(3, CPU)) * 3;
        var batchRngs = options.Select((o, i) => o.IsGreedy ? null : new Generator((ulong)(100 + i), CPU)).ToArray();
        var aloneRngs = options.Select((o, i) => o.IsGreedy ? null : new Generator((ulong)(100 + i), CPU)).ToArray();
        var drawn = options.Select(_ => new HashSet<long>()).ToArray();
        for (int step = 0; step < 30; step++)
        {
            var batch = Sampler.Sample(logits, options, options.Select(_ => (IReadOnlyList<long>)[]).ToList(), batchRngs);
            for (int r = 0; r < options.Length; r++) drawn[r].Add(batch[r]);
            for (int r = 0; r < options.Length; r++)
            {
                long want = options[r].IsGreedy ? logits[r].argmax().item<long>() : ReferenceDraw(logits[r], options[r], aloneRngs[r]!);
                Assert.True(want == batch[r], $"step {step} row {r}: batch drew {batch[r]}, alone {want}");
            }
        }
        // not vacuous: every sampled row really drew different ids over the steps
        for (int r = 0; r < options.Length; r++)
            if (!options[r].IsGreedy) Assert.True(drawn[r].Count > 1, $"row {r} drew one id only");
        foreach (var g in batchRngs.Concat(aloneRngs)) g?.Dispose();
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Text = new StreamSampling(-1, 5, 1, 16) }.Validate());
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Audio = new StreamSampling(0, -1, 1, 16) }.Validate());
    }
}
