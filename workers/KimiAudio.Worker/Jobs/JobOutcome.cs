using KimiAudio.Contracts;

namespace KimiAudio.Worker.Jobs;

public enum JobOutcomeKind
{
    /// <summary>Result written (or already there).</summary>
    Succeeded,
    /// <summary>Nothing to do: already terminal, cancelled, or leased by another worker.</summary>
    Skipped,
    /// <summary>Permanent fault: failed with its reason, no retries.</summary>
    Failed,
    /// <summary>Transient fault: back to queued; the orchestrator's sweeper redelivers it later.</summary>
    RetryScheduled,
    /// <summary>Transient faults used up every attempt: failed, and the message goes to the error queue.</summary>
    AttemptsExhausted,
    /// <summary>Another worker took the job over (our lease ran out) before we finished.</summary>
    LeaseLost,
}

public sealed record JobOutcome(ProcessAudio Message, JobOutcomeKind Kind, string? Error = null);
