namespace KimiAudio.Worker.TestHost;

/// <summary>Behaviour of the test engine. Bound from section "TestEngine".</summary>
public sealed class DeterministicEngineOptions
{
    public const string SectionName = "TestEngine";

    /// <summary>Requests run at once (the engine's slots); more wait for a free slot.</summary>
    public int MaxBatchSize { get; set; } = 4;
    /// <summary>Wall time one request spends in its slot (0: a zero-cost engine).</summary>
    public int DelayMs { get; set; }
    /// <summary>A request whose prompt equals this spends <see cref="SlowDelayMs"/> more in its slot (a long generation).</summary>
    public string? SlowPrompt { get; set; }
    public int SlowDelayMs { get; set; }
    /// <summary>A request whose prompt equals this never returns (a hung model call).</summary>
    public string? HangPrompt { get; set; }
    /// <summary>A request whose prompt equals this throws a transient-looking error every time.</summary>
    public string? FailPrompt { get; set; }
    /// <summary>A request whose task equals this is rejected (permanent).</summary>
    public string? RejectTask { get; set; }
    /// <summary>When set, one line "jobId segmentIndex" is appended per request run (shared across processes).</summary>
    public string? CallLog { get; set; }
    /// <summary>With <see cref="CallLog"/>: each line gets a third field, the Unix time in milliseconds when the request finished.</summary>
    public bool CallLogTimestamps { get; set; }
}
