using System.Diagnostics;

namespace KimiAudio.Model.Generation;

/// <summary>The parts of serving a request that <see cref="StageTimes"/> accumulates.</summary>
public enum ServingStage
{
    /// <summary>Mel, Whisper features and GLM tokens of the audio inputs, and the prompt build.</summary>
    FrontEnd,
    /// <summary>Prefill forwards (prompt tokens into the KV cache) with the sampling of their first ids.</summary>
    Prefill,
    /// <summary>One-token decode forwards with their sampling and bookkeeping.</summary>
    Decode,
    /// <summary>Detokenizer + vocoder of finished speech answers.</summary>
    Speech,
}

/// <summary>
/// Wall seconds spent per <see cref="ServingStage"/> since the last <see cref="Reset"/>, summed over calls (thread-safe:
/// the scheduler's speech thread adds while its loop runs). Stages that run on different threads overlap, so their sum
/// may exceed the wall time; on one thread it is the wall time less the idle and glue.
/// </summary>
public sealed class StageTimes
{
    private readonly long[] ticks = new long[Enum.GetValues<ServingStage>().Length];

    public void Add(ServingStage stage, long startTimestamp) =>
        Interlocked.Add(ref ticks[(int)stage], Stopwatch.GetTimestamp() - startTimestamp);

    public double Seconds(ServingStage stage) => Interlocked.Read(ref ticks[(int)stage]) / (double)Stopwatch.Frequency;

    public void Reset()
    {
        for (int i = 0; i < ticks.Length; i++) Interlocked.Exchange(ref ticks[i], 0);
    }
}
