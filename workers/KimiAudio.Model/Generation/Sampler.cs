using static TorchSharp.torch;

namespace KimiAudio.Model.Generation;

/// <summary>
/// The reference sampler, per batch row: repetition penalty on the raw logits (z·p if z &lt; 0 else z/p, each recent id
/// once), log-softmax in float32, then greedy argmax, or temperature-scaled top-k (or full) multinomial sampling.
/// </summary>
public static class Sampler
{
    /// <summary>Samples one id per row of <paramref name="logits"/> [B, V].</summary>
    public static long[] Sample(Tensor logits, IReadOnlyList<StreamSampling> options, IReadOnlyList<IReadOnlyList<long>> history,
        IReadOnlyList<Generator?> rngs)
    {
        using var scope = NewDisposeScope();
        long b = logits.shape[0];
        var z = logits;
        bool cloned = false;
        for (int r = 0; r < b; r++)
        {
            var o = options[r];
            var recent = history[r];
            if (!(o.RepetitionPenalty > 1.0) || recent.Count <= o.RepetitionWindow) continue;
            if (!cloned)
            {
                z = logits.clone();
                cloned = true;
            }
            var window = recent.Skip(recent.Count - o.RepetitionWindow).Distinct().ToArray();
            if (window.Length == 0) continue;
            var row = z[r];
            var idx = tensor(window, device: z.device);
            var s = row.index_select(0, idx);
            s = where(s.lt(0), s * o.RepetitionPenalty, s / o.RepetitionPenalty);
            row.index_copy_(0, idx, s);
        }
        var lp = z.to(ScalarType.Float32).log_softmax(-1);
        var greedy = lp.argmax(-1).cpu().data<long>().ToArray();
        var result = new long[b];
        for (int r = 0; r < b; r++)
        {
            var o = options[r];
            if (o.IsGreedy)
            {
                result[r] = greedy[r];
                continue;
            }
            var scaled = lp[r] / o.Temperature;
            if (o.TopK > 0)
            {
                var probs = scaled.exp();
                var (topVals, topIdx) = probs.topk(Math.Min(o.TopK, (int)probs.shape[0]));
                var pick = multinomial(topVals, 1, generator: rngs[r]);
                result[r] = topIdx.index_select(0, pick).cpu().item<long>();
            }
            else
            {
                result[r] = multinomial(scaled.exp(), 1, generator: rngs[r]).cpu().item<long>();
            }
        }
        return result;
    }
}
