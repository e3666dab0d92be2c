using static TorchSharp.torch;

namespace KimiAudio.Model.Generation;

/// <summary>
/// The reference sampler, per batch row: repetition penalty on the raw logits (z·p if z &lt; 0 else z/p, each recent id
/// once), log-softmax in float32, then greedy argmax, or temperature-scaled top-k (or full) multinomial sampling.
/// </summary>
/// <remarks>
/// Top-k rows that share temperature and k are scaled, exponentiated and cut in one [rows, V] call each (elementwise
/// ops and a per-row top-k: every row gets the values and order its own 1-D calls give, so its draw is unchanged);
/// at 16 rows × 168,448 ids that is 9 ms against 18–27 ms row by row on the 2-core dev box. The argmax runs only when a
/// row is greedy.
/// </remarks>
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
        var greedy = options.Take((int)b).Any(o => o.IsGreedy) ? lp.argmax(-1).cpu().data<long>().ToArray() : null;
        var result = new long[b];
        var topK = new List<int>();
        for (int r = 0; r < b; r++)
        {
            var o = options[r];
            if (o.IsGreedy) result[r] = greedy![r];
            else if (o.TopK > 0) topK.Add(r);
            else result[r] = multinomial((lp[r] / o.Temperature).exp(), 1, generator: rngs[r]).cpu().item<long>();
        }
        // top-k rows with the same temperature and k: one [rows, V] scale, exp and top-k (each row's values and
        // selection are what its own 1-D calls give), then each row draws from its k values with its own generator
        foreach (var group in topK.GroupBy(r => (options[r].Temperature, options[r].TopK)))
        {
            var members = group.ToArray();
            var (temperature, k) = group.Key;
            var rowsLp = members.Length == b ? lp : lp.index_select(0, tensor(members.Select(r => (long)r).ToArray(), device: lp.device));
            var (topVals, topIdx) = (rowsLp / temperature).exp().topk(Math.Min(k, (int)lp.shape[1]));
            for (int m = 0; m < members.Length; m++)
            {
                var pick = multinomial(topVals[m], 1, generator: rngs[members[m]]);
                result[members[m]] = topIdx[m].index_select(0, pick).cpu().item<long>();
            }
        }
        return result;
    }
}
