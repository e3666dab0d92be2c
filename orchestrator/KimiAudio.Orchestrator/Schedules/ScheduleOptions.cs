using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>The schedule runner. Bound from section "Schedules".</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "Schedules";

    /// <summary>How often due schedules are looked for (a seconds cron needs 1 or less).</summary>
    [Range(0.05, 3600)] public double IntervalSeconds { get; set; } = 1;
    /// <summary>A fire time later than this when it is handled counts as missed (downtime): the missed-run policy decides.</summary>
    [Range(1, 86_400)] public double MisfireToleranceSeconds { get; set; } = 60;
    /// <summary>Most schedules one instance fires per tick.</summary>
    [Range(1, 10_000)] public int MaxPerTick { get; set; } = 100;
}
