using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator.Sweeper;

/// <summary>The lease sweeper and redelivery scheduler. Bound from section "Sweeper".</summary>
public sealed class SweeperOptions
{
    public const string SectionName = "Sweeper";

    [Range(0.05, 3600)] public double IntervalSeconds { get; set; } = 5;
    /// <summary>Most jobs republished per sweep.</summary>
    [Range(1, 100_000)] public int RepublishBatchSize { get; set; } = 1000;
}
