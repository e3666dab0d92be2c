using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>
/// Limits on sign-in attempts at the results browser's login form, each counted over a sliding <see cref="Window"/>.
/// Bound from section "Browser:LoginRateLimit"; validated at start.
/// </summary>
public sealed class LoginRateLimitOptions
{
    public const string SectionName = "Browser:LoginRateLimit";

    /// <summary>Attempts one client address may make (IPv6: one /64 network, what one host is usually given).</summary>
    [Range(1, 1_000_000)] public int PerAddress { get; set; } = 20;

    /// <summary>Attempts at one API key prefix (the key's public id), from all addresses together: guessing one key's secret from many addresses is slowed too.</summary>
    [Range(1, 1_000_000)] public int PerKeyPrefix { get; set; } = 10;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);
}
