using System.Net;
using KimiAudio.Orchestrator.Auth;
using Microsoft.Extensions.Options;

namespace KimiAudio.Pipeline.Tests.Browser;

/// <summary>The login limiter's sliding window on a clock the test moves (no services needed).</summary>
public sealed class LoginRateLimiterTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly ManualClock clock = new();

    private LoginRateLimiter Limiter(int perAddress, int perKey, int windowSeconds) => new(
        Options.Create(new LoginRateLimitOptions { PerAddress = perAddress, PerKeyPrefix = perKey, Window = TimeSpan.FromSeconds(windowSeconds) }), clock);

    private static readonly IPAddress Home = IPAddress.Parse("192.0.2.10");

    [Fact]
    public void The_wait_is_until_the_oldest_attempt_leaves_the_window()
    {
        var limiter = Limiter(perAddress: 3, perKey: 100, windowSeconds: 60);
        foreach (var second in new[] { 0, 10, 20 })
        {
            clock.Now = clock.Now.AddSeconds(second == 0 ? 0 : 10);
            Assert.True(limiter.TryAttempt(Home, "not-a-key").Allowed);
        }
        clock.Now = clock.Now.AddSeconds(5); // t = 25 s
        var refused = limiter.TryAttempt(Home, "not-a-key");
        Assert.False(refused.Allowed);
        Assert.Equal("client address", refused.Limit);
        Assert.Equal(TimeSpan.FromSeconds(35), refused.RetryAfter); // the attempt at t = 0 leaves at t = 60
        Assert.Equal(35, refused.RetryAfterSeconds);

        clock.Now = clock.Now.AddSeconds(34.5); // t = 59.5: still full; refusals were not counted
        Assert.Equal(TimeSpan.FromSeconds(0.5), limiter.TryAttempt(Home, "not-a-key").RetryAfter);
        Assert.Equal(1, limiter.TryAttempt(Home, "not-a-key").RetryAfterSeconds); // rounded up, never 0
        clock.Now = clock.Now.AddSeconds(0.5); // t = 60
        Assert.True(limiter.TryAttempt(Home, "not-a-key").Allowed);
        Assert.False(limiter.TryAttempt(Home, "not-a-key").Allowed); // t = 10, 20, 60 are in the window
    }

    [Fact]
    public void A_key_prefix_is_limited_across_addresses_and_a_refused_attempt_counts_nowhere()
    {
        var limiter = Limiter(perAddress: 3, perKey: 2, windowSeconds: 60);
        const string key = "kimia_abcdefabcdef_secret";
        Assert.True(limiter.TryAttempt(IPAddress.Parse("192.0.2.1"), key).Allowed);
        Assert.True(limiter.TryAttempt(IPAddress.Parse("192.0.2.2"), key).Allowed);
        var refused = limiter.TryAttempt(Home, "kimia_abcdefabcdef_other-secret");
        Assert.False(refused.Allowed);
        Assert.Equal("API key", refused.Limit);
        // Home's refused attempt did not use up its own allowance: three other keys still go through
        for (var i = 0; i < 3; i++) Assert.True(limiter.TryAttempt(Home, $"kimia_00000000000{i}_x").Allowed);
        Assert.Equal("client address", limiter.TryAttempt(Home, "kimia_999999999999_x").Limit);
    }

    [Fact]
    public void Ipv6_addresses_share_a_limit_per_64_network_and_mapped_ipv4_is_ipv4()
    {
        var limiter = Limiter(perAddress: 2, perKey: 100, windowSeconds: 60);
        Assert.True(limiter.TryAttempt(IPAddress.Parse("2001:db8:1:2::1"), "x").Allowed);
        Assert.True(limiter.TryAttempt(IPAddress.Parse("2001:db8:1:2:ffff::9"), "x").Allowed);
        Assert.False(limiter.TryAttempt(IPAddress.Parse("2001:db8:1:2:abcd::1"), "x").Allowed);
        Assert.True(limiter.TryAttempt(IPAddress.Parse("2001:db8:1:3::1"), "x").Allowed); // the next /64

        Assert.Equal("192.0.2.10", LoginRateLimiter.Network(IPAddress.Parse("::ffff:192.0.2.10")));
        Assert.Equal("2001:db8:1:2::/64", LoginRateLimiter.Network(IPAddress.Parse("2001:db8:1:2:3:4:5:6")));
        Assert.Equal("unknown", LoginRateLimiter.Network(null));
    }

    [Fact]
    public void Partitions_idle_for_a_whole_window_are_dropped()
    {
        var limiter = Limiter(perAddress: 1, perKey: 100, windowSeconds: 10);
        Assert.True(limiter.TryAttempt(Home, "x").Allowed); // call 1
        clock.Now = clock.Now.AddSeconds(11);
        // calls 2..1024 from new addresses; call 1024 sweeps first, dropping Home's idle partition
        for (var i = 0; i < 1023; i++) Assert.True(limiter.TryAttempt(IPAddress.Parse($"198.51.{i / 256}.{i % 256}"), "x").Allowed);
        Assert.Equal(1023, limiter.Partitions);
        Assert.True(limiter.TryAttempt(Home, "x").Allowed);
        Assert.False(limiter.TryAttempt(Home, "x").Allowed);
    }
}
