using KimiAudio.Orchestrator.Batches;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>POST /schedules body: when (cron + time zone + missed-run policy) and what (the fields of POST /batches).</summary>
public sealed record CreateScheduleRequest
{
    public string? Name { get; init; }
    /// <summary>5 fields, or 6 with seconds first, e.g. "0 3 * * *" (03:00 daily) or "*/10 * * * * *".</summary>
    public string? Cron { get; init; }
    /// <summary>IANA id, default UTC.</summary>
    public string? TimeZone { get; init; }
    /// <summary>skip (default) | run_once.</summary>
    public string? MissedRunPolicy { get; init; }
    public string? Source { get; init; }
    public string? Manifest { get; init; }
    public string? Task { get; init; }
    public string? Question { get; init; }
    public string? OutputType { get; init; }
    public SamplingRequest? Sampling { get; init; }
    public int? Priority { get; init; }
}
