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
/// outputs <c>hist_text[0:n_text]</c> and <c>hist_audio[D:D+n_audio]</c>, timings, and the most rows it shared a forward with.
/// </summary>
public sealed record GenerationOutput(
    long[] StepTextIds,
    long[] StepAudioIds,
    long[] GeneratedTextIds,
    long[] GeneratedAudioIds,
    int PromptLength,
    StopReason Stop,
    double PrefillMs,
    double DecodeMs,
    int BatchSize = 1);

/// <summary>The prompt does not fit the model's context for the requested output.</summary>
public sealed class ContextLimitException(string message) : Exception(message);

/// <summary>
/// The reference generation loop (<c>KimiAudio._generate_loop</c>) for a static batch of prompts: every row is
/// admitted to one <see cref="GenerationEngine"/> at once (whole prompts prefilled in one right-padded forward), then
/// one-token decode steps for all unfinished rows together. Per row: text stream (EOS fed back once, then blanks),
/// audio stream (blank for the first D steps and in text mode), stop rules, loop bound. Rows that stop leave the batch
/// (and free their KV slot), so each row's ids equal a run of that row alone.
/// </summary>
public sealed class KimiGenerator(KimiaLlm llm, KimiSpecialTokens special)
{
    /// <summary>Reference bound for output_type both: the whole sequence stays within 120 s at 12.5 Hz.</summary>
    public const int BothSequenceLimit = GenerationLimits.BothSequenceLimit;
    /// <summary>Reference bound for output_type text with max_new_tokens = -1.</summary>
    public const int TextSequenceLimit = GenerationLimits.TextSequenceLimit;

    private readonly KimiAudioConfig config = llm.Config;

    /// <summary>Called after every forward with the batch rows' request indices and their last-position logits.</summary>
    public Action<int, IReadOnlyList<int>, LlmLogits>? OnStep { get; set; }

    /// <summary>
    /// How many steps a request may run: the reference rule (both: 1500 − L; text: 7500 − L), overridden by a positive
    /// <paramref name="maxNewTokens"/> (for both it can only lower the bound), and never past max_position_embeddings.
    /// </summary>
    public int LoopBound(int promptLength, KimiOutputType output, int maxNewTokens) =>
        GenerationLimits.LoopBound(config, promptLength, output, maxNewTokens);

    /// <summary>Where set, the engines of <see cref="Generate"/> add their prefill and decode time to it.</summary>
    public StageTimes? Times { get; set; }

    public IReadOnlyList<GenerationOutput> Generate(IReadOnlyList<GenerationRequest> requests, CancellationToken ct = default)
    {
        if (requests.Count == 0) return [];
        foreach (var r in requests) r.Sampling.Validate();
        var bounds = requests.Select(r => LoopBound(r.Prompt.Length, r.Output, r.MaxNewTokens)).ToArray();
        long capacity = Enumerable.Range(0, requests.Count).Max(i => GenerationEngine.PositionsNeeded(requests[i].Prompt.Length, bounds[i]));
        int width = requests.Max(r => r.Prompt.Length);
        // start small: most loops stop long before the reference bound (7500 − L for text)
        using var engine = new GenerationEngine(llm, special, requests.Count, capacity, int.MaxValue,
            initialSlots: requests.Count, initialPositions: width + Math.Min(bounds.Max(), 128));
        engine.Times = Times;
        if (OnStep is { } hook)
            engine.OnLogits = (rows, logits) => hook(rows[0].Steps, rows.Select(r => (int)r.Tag!).ToList(), logits);
        var rows = requests.Select((r, i) => engine.Admit(r, i)).ToArray();
        while (engine.ActiveRows > 0) engine.Step(ct);
        return rows.Select(r => r.ToOutput(config.AudioDelayTokens)).ToArray();
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
