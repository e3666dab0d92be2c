using System.Diagnostics;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Generation;

public enum StopReason { TextEos, AudioStop, MaxNewTokens }

/// <summary>One prompt to generate for, with its output type, sampling and loop bound (-1 = the reference rule).</summary>
public sealed record GenerationRequest(KimiPrompt Prompt, KimiOutputType Output, SamplingOptions Sampling, int MaxNewTokens = -1);

/// <summary>
/// Loop outputs of one row: the per-step histories after forcing (<c>hist_text</c>, <c>hist_audio</c>), the loop
/// outputs <c>hist_text[0:n_text]</c> and <c>hist_audio[D:D+n_audio]</c>, and timings of the batch it ran in.
/// </summary>
public sealed record GenerationOutput(
    long[] StepTextIds,
    long[] StepAudioIds,
    long[] GeneratedTextIds,
    long[] GeneratedAudioIds,
    int PromptLength,
    StopReason Stop,
    double PrefillMs,
    double DecodeMs);

/// <summary>The prompt does not fit the model's context for the requested output.</summary>
public sealed class ContextLimitException(string message) : Exception(message);

/// <summary>
/// The reference generation loop (<c>KimiAudio._generate_loop</c>) for a batch of prompts: one left-padded prefill,
/// then one-token decode steps for all unfinished rows together. Per row: text stream (EOS fed back once, then
/// blanks), audio stream (blank for the first D steps and in text mode), stop rules, loop bound. Rows that stop are
/// dropped from the batch (and the KV cache), so each row's ids equal a run of that row alone.
/// </summary>
public sealed class KimiGenerator(KimiaLlm llm, KimiSpecialTokens special)
{
    /// <summary>Reference bound for output_type both: the whole sequence stays within 120 s at 12.5 Hz.</summary>
    public const int BothSequenceLimit = 1500;
    /// <summary>Reference bound for output_type text with max_new_tokens = -1.</summary>
    public const int TextSequenceLimit = 7500;

    private const int InitialDecodeSlots = 128;

    private readonly KimiAudioConfig config = llm.Config;

    /// <summary>Called after every forward with the batch rows' request indices and their last-position logits.</summary>
    public Action<int, IReadOnlyList<int>, LlmLogits>? OnStep { get; set; }

    /// <summary>
    /// How many steps a request may run: the reference rule (both: 1500 − L; text: 7500 − L), overridden by a positive
    /// <paramref name="maxNewTokens"/> (for both it can only lower the bound), and never past max_position_embeddings.
    /// </summary>
    public int LoopBound(int promptLength, KimiOutputType output, int maxNewTokens)
    {
        int room = config.MaxPositionEmbeddings - promptLength;
        int limit = output == KimiOutputType.Both ? BothSequenceLimit - promptLength : TextSequenceLimit - promptLength;
        int bound = output == KimiOutputType.Both
            ? (maxNewTokens > 0 ? Math.Min(maxNewTokens, limit) : limit)
            : (maxNewTokens > 0 ? maxNewTokens : limit);
        bound = Math.Min(bound, room);
        if (bound <= 0)
        {
            int max = output == KimiOutputType.Both ? Math.Min(BothSequenceLimit, config.MaxPositionEmbeddings) : Math.Min(maxNewTokens > 0 ? int.MaxValue : TextSequenceLimit, config.MaxPositionEmbeddings);
            throw new ContextLimitException(
                $"the prompt is {promptLength} tokens ({promptLength / 12.5:F1} s at 12.5 Hz) and leaves no room to generate: output type {output.ToString().ToLowerInvariant()} allows sequences of at most {max} tokens");
        }
        return bound;
    }

    public IReadOnlyList<GenerationOutput> Generate(IReadOnlyList<GenerationRequest> requests, CancellationToken ct = default)
    {
        if (requests.Count == 0) return [];
        foreach (var r in requests) r.Sampling.Validate();
        var bounds = requests.Select(r => LoopBound(r.Prompt.Length, r.Output, r.MaxNewTokens)).ToArray();
        int n = requests.Count;
        var rows = Enumerable.Range(0, n).Select(i => new RowState(requests[i], bounds[i], llm.Device)).ToArray();

        using var _ = inference_mode();
        using var batch = PromptBatch.Create(requests.Select(r => r.Prompt).ToList(), special.Blank, llm.Device);
        int width = batch.Width;
        long capacity = width + bounds.Max();
        // start small: most loops stop long before the reference bound (7500 − L for text)
        using var cache = llm.NewCache(n, width + Math.Min(bounds.Max(), InitialDecodeSlots), capacity);
        var validity = batch.PrefillMask is null ? null : PromptBatch.KeyValidity(batch.Pads, (int)capacity, llm.Device);
        var active = Enumerable.Range(0, n).ToList();

        var clock = Stopwatch.StartNew();
        double prefillMs = 0;
        try
        {
            for (int step = 0; active.Count > 0; step++)
            {
                ct.ThrowIfCancellationRequested();
                long[] textIds, audioIds;
                using (var scope = NewDisposeScope())
                {
                    LlmLogits logits;
                    if (step == 0)
                    {
                        var embeds = llm.Embed(batch.AudioIds, batch.TextIds, batch.Continuous);
                        logits = llm.Forward(embeds, batch.Positions, batch.PrefillMask, cache);
                    }
                    else
                    {
                        var a = tensor(active.Select(r => rows[r].LastAudio).ToArray(), [active.Count, 1], device: llm.Device);
                        var t = tensor(active.Select(r => rows[r].LastText).ToArray(), [active.Count, 1], device: llm.Device);
                        var pos = tensor(active.Select(r => (long)(rows[r].PromptLength + step - 1)).ToArray(), [active.Count, 1], device: llm.Device);
                        var mask = validity?.narrow(1, 0, cache.Length + 1).unsqueeze(1).unsqueeze(1);
                        logits = llm.Forward(llm.Embed(a, t, null), pos, mask, cache);
                    }
                    OnStep?.Invoke(step, active, logits);
                    textIds = Sampler.Sample(logits.Text, active.Select(r => rows[r].Request.Sampling.Text).ToList(),
                        active.Select(r => (IReadOnlyList<long>)rows[r].TextHistory).ToList(), active.Select(r => rows[r].Rng).ToList());
                    audioIds = Sampler.Sample(logits.Audio, active.Select(r => rows[r].Request.Sampling.Audio).ToList(),
                        active.Select(r => (IReadOnlyList<long>)rows[r].AudioHistory).ToList(), active.Select(r => rows[r].Rng).ToList());
                }
                if (step == 0) prefillMs = clock.Elapsed.TotalMilliseconds;

                var keep = new List<int>();
                for (int i = 0; i < active.Count; i++)
                {
                    var row = rows[active[i]];
                    if (!row.Advance(step, textIds[i], audioIds[i], special, config.AudioDelayTokens)) keep.Add(i);
                }
                if (keep.Count < active.Count && keep.Count > 0)
                {
                    using var idx = tensor(keep.Select(i => (long)i).ToArray(), device: llm.Device);
                    cache.KeepRows(idx);
                    if (validity is not null)
                    {
                        var v = validity.index_select(0, idx).DetachFromDisposeScope();
                        validity.Dispose();
                        validity = v;
                    }
                }
                active = keep.Select(i => active[i]).ToList();
            }
        }
        finally
        {
            validity?.Dispose();
            foreach (var r in rows) r.Rng?.Dispose();
        }
        double totalMs = clock.Elapsed.TotalMilliseconds;
        return rows.Select(r => r.ToOutput(config.AudioDelayTokens, prefillMs, totalMs - prefillMs)).ToArray();
    }

    private sealed class RowState
    {
        public GenerationRequest Request { get; }
        public int PromptLength => Request.Prompt.Length;
        public List<long> TextHistory { get; } = [];
        public List<long> AudioHistory { get; } = [];
        public Generator? Rng { get; }
        public long LastText => TextHistory[^1];
        public long LastAudio => AudioHistory[^1];
        private readonly int bound;
        private bool textDone;
        private int nText, nAudio;
        private StopReason stop;

        public RowState(GenerationRequest request, int bound, Device device)
        {
            Request = request;
            this.bound = bound;
            if (!request.Sampling.Text.IsGreedy || !request.Sampling.Audio.IsGreedy)
                Rng = new Generator(request.Sampling.Seed, device);
        }

        /// <summary>Applies the stream rules to step <paramref name="i"/>'s samples; returns true when the row stops.</summary>
        public bool Advance(int i, long t, long a, KimiSpecialTokens sp, int delay)
        {
            if (textDone) t = sp.Blank;
            else if (t == sp.TextEos) textDone = true;
            else nText++;
            TextHistory.Add(t);

            if (i < delay || Request.Output == KimiOutputType.Text) a = sp.Blank;
            else nAudio++;
            AudioHistory.Add(a);

            if (Request.Output == KimiOutputType.Text && textDone)
            {
                stop = StopReason.TextEos;
                return true;
            }
            if (Request.Output == KimiOutputType.Both && (a == sp.MsgEnd || a == sp.MediaEnd))
            {
                stop = StopReason.AudioStop;
                return true;
            }
            if (i + 1 >= bound)
            {
                stop = StopReason.MaxNewTokens;
                return true;
            }
            return false;
        }

        public GenerationOutput ToOutput(int delay, double prefillMs, double decodeMs) => new(
            [.. TextHistory],
            [.. AudioHistory],
            [.. TextHistory.Take(nText)],
            [.. AudioHistory.Skip(delay).Take(nAudio)],
            PromptLength,
            stop,
            prefillMs,
            decodeMs);
    }
}

/// <summary>The reference post-processing of loop outputs.</summary>
public static class OutputIds
{
    /// <summary>Text ids below the token offset, cut at the first text EOS.</summary>
    public static long[] Text(IEnumerable<long> generated, int tokenOffset, int textEos) =>
        generated.Where(t => t < tokenOffset).TakeWhile(t => t != textEos).ToArray();

    /// <summary>Audio ids at or above the token offset, minus the offset: semantic ids for the detokenizer.</summary>
    public static long[] Semantic(IEnumerable<long> generated, int tokenOffset) =>
        generated.Where(a => a >= tokenOffset).Select(a => a - tokenOffset).ToArray();
}
