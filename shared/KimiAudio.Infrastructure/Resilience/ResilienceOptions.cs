using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Infrastructure.Resilience;

/// <summary>Retry settings of the in-step resilience pipelines. Bound from section "Resilience".</summary>
public sealed class ResilienceOptions
{
    public const string SectionName = "Resilience";

    [Range(0, 20)] public int S3MaxRetries { get; set; } = 5;
    [Range(1, 60_000)] public int S3BaseDelayMs { get; set; } = 100;
    /// <summary>10 retries with exponential back-off capped at 10 s ride through about a minute of PostgreSQL being away (a restart).</summary>
    [Range(0, 20)] public int PostgresMaxRetries { get; set; } = 10;
    [Range(1, 60_000)] public int PostgresBaseDelayMs { get; set; } = 200;
}
