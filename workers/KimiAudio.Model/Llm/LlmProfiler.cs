using System.Diagnostics;

namespace KimiAudio.Model.Llm;

/// <summary>The parts of a forward (and of the sampling after it) that a profiler can time.</summary>
public enum LlmStage
{
    /// <summary>Input RMSNorm + self-attention (q/k/v/o projections, RoPE, cache write, scaled dot product) of a layer.</summary>
    Attention,
    /// <summary>Post-attention RMSNorm + gated MLP of a layer.</summary>
    Mlp,
    /// <summary><c>norm</c> + <c>lm_head</c>.</summary>
    TextHead,
    /// <summary><c>mimo_norm</c> + <c>mimo_output</c>.</summary>
    AudioHead,
    /// <summary>Turning both heads' logits into ids (repetition penalty, log-softmax, argmax or multinomial).</summary>
    Sampling,
}

/// <summary>
/// An optional timing callback (<see cref="KimiaLlm.Profiler"/>): the model calls <see cref="Begin"/> before a stage and
/// <see cref="End"/> after it, in the order they run. Unset (null) it costs one null check per stage. On an asynchronous
/// device an implementation synchronises in both calls, so each span covers the stage's own kernels.
/// </summary>
public interface ILlmProfiler
{
    /// <summary>Returns the start timestamp (<see cref="Stopwatch.GetTimestamp"/> units) of a stage.</summary>
    long Begin(LlmStage stage);

    /// <summary>The stage that began at <paramref name="startTimestamp"/> has ended.</summary>
    void End(LlmStage stage, long startTimestamp);
}

/// <summary>One timed stage: <c>using var _ = profiler.Span(stage);</c> — nothing happens when the profiler is null.</summary>
public readonly struct LlmProfilerSpan(ILlmProfiler? profiler, LlmStage stage) : IDisposable
{
    private readonly long start = profiler?.Begin(stage) ?? 0;

    public void Dispose() => profiler?.End(stage, start);
}

public static class LlmProfilerExtensions
{
    public static LlmProfilerSpan Span(this ILlmProfiler? profiler, LlmStage stage) => new(profiler, stage);
}
