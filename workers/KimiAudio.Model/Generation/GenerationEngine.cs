using System.Diagnostics;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Generation;

/// <summary>A request does not fit the KV slot it would run in (prompt + loop bound &gt; slot capacity).</summary>
public sealed class KvCapacityException(string message) : Exception(message);

/// <summary>
/// One sequence inside a <see cref="GenerationEngine"/>: its request, where its prefill is, its stream histories and
/// per-row random generator (seeded from the request, so neighbours joining or leaving never change its draws).
/// </summary>
public sealed class GenerationRow
{
    private readonly int bound;
    private readonly List<long> textHistory = [];
    private readonly List<long> audioHistory = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private bool textDone;
    private int nText, nAudio;
    private double prefillMs;

    internal GenerationRow(GenerationRequest request, int bound, Device device, object? tag)
    {
        Request = request;
        this.bound = bound;
        Tag = tag;
        if (!request.Sampling.Text.IsGreedy || !request.Sampling.Audio.IsGreedy)
            Rng = new Generator(request.Sampling.Seed, device);
    }

    public GenerationRequest Request { get; }
    /// <summary>The caller's handle for this row.</summary>
    public object? Tag { get; }
    public int PromptLength => Request.Prompt.Length;
    /// <summary>Loop steps sampled so far (step 0 is the prefill's).</summary>
    public int Steps => textHistory.Count;
    /// <summary>Prompt positions already in the cache.</summary>
    public int Prefilled { get; internal set; }
    public bool Prefilling => Prefilled < PromptLength;
    public StopReason? Stop { get; private set; }
    /// <summary>Most rows that shared a forward with this one.</summary>
    public int MaxBatch { get; internal set; }

    internal Generator? Rng { get; }
    internal int Slot { get; set; } = -1;
    /// <summary>Valid cache positions of this row's slot.</summary>
    internal long Length { get; set; }
    internal long LastText => textHistory[^1];
    internal long LastAudio => audioHistory[^1];
    internal IReadOnlyList<long> TextHistory => textHistory;
    internal IReadOnlyList<long> AudioHistory => audioHistory;
    internal bool Removed { get; set; }

    /// <summary>
    /// Whether anything of this row depends on its audio logits: a speech answer, or a text answer whose two streams
    /// both sample from the row's one generator (the discarded audio draw moves the text draws on). Otherwise the
    /// reference computes the audio stream only to replace it with blanks, and the engine may skip the audio branch.
    /// </summary>
    internal bool NeedsAudio => Request.Output == Prompting.KimiOutputType.Both
                                || (!Request.Sampling.Text.IsGreedy && !Request.Sampling.Audio.IsGreedy);

    /// <summary>Applies the reference stream rules to this step's samples; true when the row stops.</summary>
    internal bool Advance(long t, long a, KimiSpecialTokens sp, int delay)
    {
        int i = textHistory.Count;
        if (i == 0) prefillMs = clock.Elapsed.TotalMilliseconds;
        if (textDone) t = sp.Blank;
        else if (t == sp.TextEos) textDone = true;
        else nText++;
        textHistory.Add(t);

        if (i < delay || Request.Output == Prompting.KimiOutputType.Text) a = sp.Blank;
        else nAudio++;
        audioHistory.Add(a);

        if (Request.Output == Prompting.KimiOutputType.Text && textDone) Stop = StopReason.TextEos;
        else if (Request.Output == Prompting.KimiOutputType.Both && (a == sp.MsgEnd || a == sp.MediaEnd)) Stop = StopReason.AudioStop;
        else if (i + 1 >= bound) Stop = StopReason.MaxNewTokens;
        if (Stop is not null) clock.Stop();
        return Stop is not null;
    }

    public GenerationOutput ToOutput(int delay) => new(
        [.. textHistory],
        [.. audioHistory],
        [.. textHistory.Take(nText)],
        [.. audioHistory.Skip(delay).Take(nAudio)],
        PromptLength,
        Stop ?? throw new InvalidOperationException("the row has not finished"),
        prefillMs,
        clock.Elapsed.TotalMilliseconds - prefillMs,
        MaxBatch);

    internal void DisposeRng() => Rng?.Dispose();
}

/// <summary>
/// The generation loop of <c>KimiAudio._generate_loop</c> as a step machine over a <see cref="SlotKvCache"/>, shared by
/// static batches (<see cref="KimiGenerator.Generate"/>) and continuous batching (<c>KimiAudioScheduler</c>).
/// Each <see cref="Step"/> advances every decoding row by one token and every prefilling row by up to
/// <c>prefillChunk</c> prompt tokens, in one forward when it has both (<see cref="MixedSteps"/>: the weights are read
/// once for both groups, each attends over its own slots); a row whose prompt completes samples its
/// step 0 and decodes from the next step on; a row that stops leaves at once and frees its slot. Rows may be admitted
/// between any two steps.
/// </summary>
/// <remarks>
/// Every row attends only to its own slot's positions (per-row validity masks; a prefill chunk's queries are causal
/// by absolute position), uses its own position ids from 0, its own sampler settings and random generator, so its ids
/// equal a run of that row alone and its logits differ only by float reduction order.
/// Slot layout: decoding rows occupy slots [0, d), prefilling rows [d, d + p), so each forward reads a contiguous
/// view of the pool; when rows leave or finish their prompt, the fewest rows are moved to keep that layout.
/// </remarks>
public sealed class GenerationEngine : IDisposable
{
    private readonly KimiaLlm llm;
    private readonly KimiSpecialTokens special;
    private readonly KimiAudioConfig config;
    private readonly SlotKvCache pool;
    private readonly int prefillChunk;
    private List<GenerationRow> decoding = [];
    private List<GenerationRow> prefilling = [];

    /// <param name="slots">Most rows at once.</param>
    /// <param name="slotCapacity">Most positions (prompt + generated) of one row.</param>
    /// <param name="prefillChunk">Most prompt tokens of one row per step (int.MaxValue: whole prompts in one forward).</param>
    public GenerationEngine(KimiaLlm llm, KimiSpecialTokens special, int slots, long slotCapacity, int prefillChunk = int.MaxValue,
        int initialSlots = 1, long initialPositions = 256)
    {
        if (prefillChunk < 1) throw new ArgumentException("prefill chunk must be positive");
        this.llm = llm;
        this.special = special;
        config = llm.Config;
        this.prefillChunk = prefillChunk;
        pool = new SlotKvCache(llm.CacheLayers, slots, config.NumKeyValueHeads, config.HeadDim, slotCapacity, llm.DType, llm.Device,
            initialSlots, Math.Min(initialPositions, slotCapacity));
    }

    public int Slots => pool.Slots;
    public long SlotCapacity => pool.SlotCapacity;
    public int ActiveRows => decoding.Count + prefilling.Count;
    public int FreeSlots => pool.Slots - ActiveRows;
    public IReadOnlyList<GenerationRow> Rows => [.. decoding, .. prefilling];

    /// <summary>
    /// Called after every forward with the rows that sample from it (row i ↔ logits row i, before their step
    /// advances: <see cref="GenerationRow.Steps"/> is the step index).
    /// </summary>
    public Action<IReadOnlyList<GenerationRow>, LlmLogits>? OnLogits { get; set; }

    /// <summary>
    /// Positions a request needs in its slot: the prompt plus every fed-back token (the last sampled token is not fed).
    /// </summary>
    public static long PositionsNeeded(int promptLength, int loopBound) => promptLength + (long)loopBound - 1;

    /// <summary>
    /// Checks that <paramref name="request"/> fits (context and slot capacity) and returns its loop bound; throws
    /// <see cref="ContextLimitException"/> or <see cref="KvCapacityException"/> with the numbers otherwise.
    /// </summary>
    public int Check(GenerationRequest request)
    {
        request.Sampling.Validate();
        int bound = GenerationLimits.LoopBound(config, request.Prompt.Length, request.Output, request.MaxNewTokens);
        long needed = PositionsNeeded(request.Prompt.Length, bound);
        if (needed > pool.SlotCapacity)
            throw new KvCapacityException(
                $"the request needs {needed} KV cache positions (prompt {request.Prompt.Length} + up to {bound - 1} fed-back tokens) but a slot holds {pool.SlotCapacity} " +
                $"({pool.Slots} slots): lower max_new_tokens, shorten the audio, or give the KV cache a larger budget");
        return bound;
    }

    /// <summary>Adds a row; its prefill starts at the next step.</summary>
    public GenerationRow Admit(GenerationRequest request, object? tag = null)
    {
        int bound = Check(request);
        if (FreeSlots == 0) throw new InvalidOperationException("no free slot");
        var row = new GenerationRow(request, bound, llm.Device, tag) { Slot = ActiveRows };
        prefilling.Add(row);
        pool.Reserve(ActiveRows, Math.Min(pool.AllocatedPositions, pool.SlotCapacity));
        return row;
    }

    /// <summary>Takes a row out (cancelled); its slot is free for the next admission.</summary>
    public void Remove(GenerationRow row)
    {
        if (row.Removed || row.Slot < 0) return;
        row.Removed = true;
        Relayout([.. decoding.Where(r => !r.Removed)], [.. prefilling.Where(r => !r.Removed)]);
        row.Slot = -1;
        row.DisposeRng();
    }

    /// <summary>
    /// Whether a step with both decoding and prefilling rows runs them in one forward (<see cref="MixedForward"/>,
    /// the default) or in two, decode first.
    /// </summary>
    public bool MixedSteps { get; set; } = true;

    /// <summary>Where set, each step adds its decode and prefill forwards' wall time to it.</summary>
    public StageTimes? Times { get; set; }

    /// <summary>One decode forward and one prefill forward; returns the rows that stopped (their outputs are final).</summary>
    public IReadOnlyList<GenerationRow> Step(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var finished = new List<GenerationRow>();
        var promoted = new List<GenerationRow>();
        using (inference_mode())
        {
            long start = Stopwatch.GetTimestamp();
            if (decoding.Count > 0 && prefilling.Count > 0 && MixedSteps)
            {
                // a step that carries prompt tokens counts as prefill time
                MixedForward(finished, promoted);
                Times?.Add(ServingStage.Prefill, start);
            }
            else
            {
                if (decoding.Count > 0)
                {
                    DecodeForward(finished);
                    Times?.Add(ServingStage.Decode, start);
                }
                start = Stopwatch.GetTimestamp();
                if (prefilling.Count > 0)
                {
                    PrefillForward(finished, promoted);
                    Times?.Add(ServingStage.Prefill, start);
                }
            }
        }
        if (finished.Count > 0 || promoted.Count > 0)
        {
            foreach (var r in finished) r.Removed = true;
            Relayout([.. decoding.Where(r => !r.Removed), .. promoted.Where(r => !r.Removed)],
                [.. prefilling.Where(r => !r.Removed && r.Prefilling)]);
            foreach (var r in finished)
            {
                r.Slot = -1;
                r.DisposeRng();
            }
        }
        return finished;
    }

    /// <summary>The inputs of the decoding rows' one-token forward (slots [0, d)).</summary>
    private sealed record DecodeInputs(Tensor Embeds, Tensor Positions, Tensor? Mask, IKvCache Cache);

    private long DecodeAttend() => decoding.Max(r => r.Length) + 1;

    /// <summary>Builds the decoding rows' inputs; the pool must hold <see cref="DecodeAttend"/> positions.</summary>
    private DecodeInputs PrepareDecode()
    {
        int n = decoding.Count;
        var lengths = decoding.Select(r => r.Length).ToArray();
        long attend = DecodeAttend();
        var device = llm.Device;
        var a = tensor(decoding.Select(r => r.LastAudio).ToArray(), [n, 1], device: device);
        var t = tensor(decoding.Select(r => r.LastText).ToArray(), [n, 1], device: device);
        var columns = tensor(lengths, [n, 1], device: device);
        var slots = arange(0L, n, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        // one query per row sees every key of its own sequence: only rows shorter than the longest need a mask
        Tensor? mask = lengths.All(l => l == lengths[0])
            ? null
            : arange(attend, dtype: ScalarType.Int64, device: device).unsqueeze(0).le(columns).reshape(n, 1, 1, attend);
        var cache = pool.Rows(0, n, slots, columns, attend);
        return new DecodeInputs(llm.Embed(a, t, null), columns, mask, cache);
    }

    private void FinishDecode(LlmLogits logits, int batch, List<GenerationRow> finished)
    {
        foreach (var r in decoding)
        {
            r.Length++;
            r.MaxBatch = Math.Max(r.MaxBatch, batch);
        }
        SampleAndAdvance(decoding, logits, finished);
    }

    private void DecodeForward(List<GenerationRow> finished)
    {
        pool.Reserve(ActiveRows, DecodeAttend());
        using var scope = NewDisposeScope();
        var d = PrepareDecode();
        var logits = llm.Forward(d.Embeds, d.Positions, d.Mask, d.Cache, audioBranch: decoding.Any(r => r.NeedsAudio));
        FinishDecode(logits, decoding.Count, finished);
    }

    /// <summary>
    /// Decoding and prefilling rows in one forward: the token-wise work (norms, projections, MLPs, both heads) runs once
    /// over the decode tokens and the prefill chunk's real tokens together, so the weights are read once per step, not
    /// twice; each group attends over its own slots (<see cref="KimiaLlm.ForwardMixed"/>).
    /// </summary>
    private void MixedForward(List<GenerationRow> finished, List<GenerationRow> promoted)
    {
        pool.Reserve(ActiveRows, Math.Max(DecodeAttend(), PrefillAttend()));
        using var scope = NewDisposeScope();
        var d = PrepareDecode();
        var p = PreparePrefill();
        var (decodeLogits, prefillLogits) = llm.ForwardMixed(
            new KimiaLlm.MixedGroup(d.Embeds, d.Positions, d.Mask, d.Cache),
            new KimiaLlm.MixedGroup(p.Embeds, p.Positions, p.Mask, p.Cache, p.Last, p.RealTokens),
            audioBranch: decoding.Any(r => r.NeedsAudio) || prefilling.Any(r => r.NeedsAudio));
        int batch = decoding.Count + prefilling.Count;
        FinishDecode(decodeLogits, batch, finished);
        FinishPrefill(p, prefillLogits, batch, finished, promoted);
    }

    /// <summary>The inputs of the prefilling rows' chunk forward (slots [d, d + p)).</summary>
    private sealed record PrefillInputs(Tensor Embeds, Tensor Positions, Tensor? Mask, IKvCache Cache, Tensor Last, Tensor? RealTokens, int[] Counts);

    private int ChunkOf(GenerationRow r) => Math.Min(prefillChunk, r.PromptLength - r.Prefilled);

    private long PrefillAttend() => prefilling.Max(r => (long)r.Prefilled + ChunkOf(r));

    /// <summary>Builds the prefilling rows' inputs; the pool must hold <see cref="PrefillAttend"/> positions.</summary>
    private PrefillInputs PreparePrefill()
    {
        int n = prefilling.Count, first = decoding.Count;
        var offsets = prefilling.Select(r => r.Prefilled).ToArray();
        var counts = prefilling.Select(ChunkOf).ToArray();
        int width = counts.Max();
        long attend = PrefillAttend();
        var device = llm.Device;
        var audio = new long[n * width];
        var text = new long[n * width];
        var pos = new long[n * width];
        var limit = new long[n * width];
        var select = new List<long>();
        var writeSlots = new List<long>();
        var writeColumns = new List<long>();
        var flat = new List<long>();
        var featureRows = new List<Tensor>();
        for (int r = 0; r < n; r++)
        {
            var p = prefilling[r].Request.Prompt;
            int o = offsets[r], c = counts[r];
            for (int i = 0; i < width; i++)
            {
                int k = r * width + i;
                bool real = i < c;
                audio[k] = real ? p.AudioIds[o + i] : special.Blank;
                text[k] = real ? p.TextIds[o + i] : special.Blank;
                pos[k] = o + Math.Min(i, c - 1);
                // causal by absolute position; a pad query sees its row's real keys only
                limit[k] = o + Math.Min(i, c - 1);
                if (!real) continue;
                select.Add(k);
                writeSlots.Add(first + r);
                writeColumns.Add(o + i);
            }
            foreach (var s in p.Segments)
            {
                int lo = Math.Max(s.Start, o), hi = Math.Min(s.Start + s.Length, o + c);
                if (hi <= lo) continue;
                for (int q = lo; q < hi; q++) flat.Add((long)r * width + (q - o));
                featureRows.Add(s.Features.narrow(0, lo - s.Start, hi - lo).to(ScalarType.Float32));
            }
        }
        bool plainCausal = offsets.All(o => o == 0) && counts.All(c => c == width);
        Tensor? mask = plainCausal
            ? null
            : arange(attend, dtype: ScalarType.Int64, device: device).reshape(1, 1, attend)
                .le(tensor(limit, [n, width], device: device).unsqueeze(-1)).unsqueeze(1);
        bool dense = select.Count == n * width;
        var realTokens = dense ? null : tensor(select.ToArray(), device: device);
        var cache = pool.Rows(first, n,
            tensor(writeSlots.ToArray(), device: device).reshape(dense ? [n, width] : [-1]),
            tensor(writeColumns.ToArray(), device: device).reshape(dense ? [n, width] : [-1]),
            attend,
            realTokens);
        var continuous = flat.Count == 0 ? null : new ContinuousInput(tensor(flat.ToArray(), device: device), cat(featureRows, 0).to(device));
        var hasText = tensor(prefilling.Select(r => r.Request.Prompt.TextIds.Any(x => x != 0)).ToArray(), device: device);
        var embeds = llm.Embed(tensor(audio, [n, width], device: device), tensor(text, [n, width], device: device), continuous, hasText);
        var last = tensor(counts.Select(c => (long)c - 1).ToArray(), device: device);
        return new PrefillInputs(embeds, tensor(pos, [n, width], device: device), mask, cache, last, realTokens, counts);
    }

    private void PrefillForward(List<GenerationRow> finished, List<GenerationRow> promoted)
    {
        pool.Reserve(ActiveRows, PrefillAttend());
        using var scope = NewDisposeScope();
        var p = PreparePrefill();
        // pads (rows shorter than the widest) take no token-wise work: the layers run on the real tokens only
        var logits = llm.Forward(p.Embeds, p.Positions, p.Mask, p.Cache, lastIndex: p.Last,
            audioBranch: prefilling.Any(r => r.NeedsAudio), realTokens: p.RealTokens);
        FinishPrefill(p, logits, prefilling.Count, finished, promoted);
    }

    private void FinishPrefill(PrefillInputs p, LlmLogits logits, int batch, List<GenerationRow> finished, List<GenerationRow> promoted)
    {
        int n = prefilling.Count;
        var device = llm.Device;
        var done = new List<int>();
        for (int r = 0; r < n; r++)
        {
            var row = prefilling[r];
            row.Prefilled += p.Counts[r];
            row.Length = row.Prefilled;
            row.MaxBatch = Math.Max(row.MaxBatch, batch);
            if (!row.Prefilling) done.Add(r);
        }
        if (done.Count == 0) return;
        var rows = done.Select(i => prefilling[i]).ToList();
        LlmLogits sub = logits;
        if (done.Count < n)
        {
            var idx = tensor(done.Select(i => (long)i).ToArray(), device: device);
            sub = new LlmLogits(logits.Text.index_select(0, idx), logits.Audio.index_select(0, idx)); // [k, 0] stays empty
        }
        var stopped = new List<GenerationRow>();
        SampleAndAdvance(rows, sub, stopped);
        finished.AddRange(stopped);
        promoted.AddRange(rows.Where(r => !stopped.Contains(r)));
    }

    private void SampleAndAdvance(IReadOnlyList<GenerationRow> rows, LlmLogits logits, List<GenerationRow> finished)
    {
        OnLogits?.Invoke(rows, logits);
        using var span = llm.Profiler.Span(LlmStage.Sampling);
        var textIds = Sampler.Sample(logits.Text, rows.Select(r => r.Request.Sampling.Text).ToList(),
            rows.Select(r => r.TextHistory).ToList(), rows.Select(r => r.Rng).ToList());
        var audioIds = AudioIds(rows, logits.Audio);
        for (int i = 0; i < rows.Count; i++)
            if (rows[i].Advance(textIds[i], audioIds[i], special, config.AudioDelayTokens)) finished.Add(rows[i]);
    }

    /// <summary>
    /// Audio samples of the rows that need them (<see cref="GenerationRow.NeedsAudio"/>); the others get blank, as the
    /// reference's text output does with whatever it sampled. A row that does not need audio may share a forward with
    /// rows that do: its audio logits then come from MIMO cache layers that earlier audio-free forwards left unwritten,
    /// so they are never sampled.
    /// </summary>
    private long[] AudioIds(IReadOnlyList<GenerationRow> rows, Tensor audioLogits)
    {
        var ids = new long[rows.Count];
        Array.Fill(ids, special.Blank);
        var need = Enumerable.Range(0, rows.Count).Where(i => rows[i].NeedsAudio).ToList();
        if (need.Count == 0) return ids;
        using var scope = NewDisposeScope();
        var z = need.Count == rows.Count
            ? audioLogits
            : audioLogits.index_select(0, tensor(need.Select(i => (long)i).ToArray(), device: audioLogits.device));
        var sampled = Sampler.Sample(z, need.Select(i => rows[i].Request.Sampling.Audio).ToList(),
            need.Select(i => rows[i].AudioHistory).ToList(), need.Select(i => rows[i].Rng).ToList());
        for (int k = 0; k < need.Count; k++) ids[need[k]] = sampled[k];
        return ids;
    }

    /// <summary>
    /// Places <paramref name="decodeRows"/> in slots [0, d) and <paramref name="prefillRows"/> in [d, d + p), leaving
    /// every row that is already inside its region where it is and moving the others into the holes.
    /// </summary>
    private void Relayout(List<GenerationRow> decodeRows, List<GenerationRow> prefillRows)
    {
        var target = new GenerationRow?[decodeRows.Count + prefillRows.Count];
        Place(decodeRows, 0, decodeRows.Count, target);
        Place(prefillRows, decodeRows.Count, prefillRows.Count, target);
        var moves = new List<(int From, int To)>();
        long columns = 0;
        for (int s = 0; s < target.Length; s++)
        {
            var row = target[s]!;
            if (row.Slot == s) continue;
            moves.Add((row.Slot, s));
            columns = Math.Max(columns, row.Length);
        }
        pool.Move(moves, columns);
        for (int s = 0; s < target.Length; s++) target[s]!.Slot = s;
        decoding = decodeRows.OrderBy(r => r.Slot).ToList();
        prefilling = prefillRows.OrderBy(r => r.Slot).ToList();
    }

    private static void Place(List<GenerationRow> rows, int start, int count, GenerationRow?[] target)
    {
        var movers = new Queue<GenerationRow>();
        foreach (var r in rows)
        {
            if (r.Slot >= start && r.Slot < start + count && target[r.Slot] is null) target[r.Slot] = r;
            else movers.Enqueue(r);
        }
        for (int s = start; s < start + count; s++) target[s] ??= movers.Dequeue();
    }

    public void Dispose()
    {
        foreach (var r in decoding.Concat(prefilling)) r.DisposeRng();
        decoding.Clear();
        prefilling.Clear();
        pool.Dispose();
    }
}

/// <summary>The loop bound rules of the reference, from the config.</summary>
public static class GenerationLimits
{
    /// <summary>Reference bound for output_type both: the whole sequence stays within 120 s at 12.5 Hz.</summary>
    public const int BothSequenceLimit = 1500;
    /// <summary>Reference bound for output_type text with max_new_tokens = -1.</summary>
    public const int TextSequenceLimit = 7500;

    /// <summary>
    /// How many steps a request may run: the reference rule (both: 1500 − L; text: 7500 − L), overridden by a positive
    /// <paramref name="maxNewTokens"/> (for both it can only lower the bound), and never past max_position_embeddings.
    /// </summary>
    public static int LoopBound(KimiAudioConfig config, int promptLength, Prompting.KimiOutputType output, int maxNewTokens)
    {
        bool both = output == Prompting.KimiOutputType.Both;
        int room = config.MaxPositionEmbeddings - promptLength;
        int limit = both ? BothSequenceLimit - promptLength : TextSequenceLimit - promptLength;
        int bound = both
            ? (maxNewTokens > 0 ? Math.Min(maxNewTokens, limit) : limit)
            : (maxNewTokens > 0 ? maxNewTokens : limit);
        bound = Math.Min(bound, room);
        if (bound <= 0)
        {
            int max = both ? Math.Min(BothSequenceLimit, config.MaxPositionEmbeddings) : Math.Min(maxNewTokens > 0 ? int.MaxValue : TextSequenceLimit, config.MaxPositionEmbeddings);
            throw new ContextLimitException(
                $"the prompt is {promptLength} tokens ({promptLength / 12.5:F1} s at 12.5 Hz) and leaves no room to generate: output type {output.ToString().ToLowerInvariant()} allows sequences of at most {max} tokens");
        }
        return bound;
    }
}
