using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator.Metrics;

/// <summary>How often the orchestrator's gauges (jobs by state, queue depth) are re-read. Bound from section "JobGauges".</summary>
public sealed class PipelineGaugeOptions
{
    public const string SectionName = "JobGauges"; // not "Metrics": the host binds that section to its own metric listener rules

    /// <summary>Scrapes read the values cached by the last refresh, so a scrape never queries Postgres or the broker itself.</summary>
    [Range(0.1, 3600)] public double RefreshSeconds { get; set; } = 15;
}
