using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using KimiAudio.Infrastructure.Auth;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>The answer to one sign-in attempt: allowed, or refused with how long to wait and which limit it hit.</summary>
public readonly record struct LoginAttempt(bool Allowed, TimeSpan RetryAfter, string? Limit)
{
    /// <summary>Whole seconds for a Retry-After header (at least 1).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}

/// <summary>
/// Sliding-window log of sign-in attempts per client address and per API key prefix (<see cref="LoginRateLimitOptions"/>).
/// Each partition keeps the times of its last N allowed attempts, so the wait is exact: the oldest attempt leaves the
/// window at (oldest + window). Refused attempts are not recorded (waiting always helps). Partitions idle for a whole
/// window are dropped as attempts come in, so memory follows the addresses seen in the last window. One process: replicas
/// each count their own attempts (the limit per deployment is the limit times the replicas).
/// </summary>
public sealed class LoginRateLimiter(IOptions<LoginRateLimitOptions> options, TimeProvider time)
{
    private const int SweepEvery = 1024;
    private readonly LoginRateLimitOptions limits = options.Value;
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> partitions = new(StringComparer.Ordinal);
    private int calls;

    /// <summary>Client addresses and key prefixes with attempts in the last window (or not yet swept).</summary>
    public int Partitions => partitions.Count;

    /// <summary>Records an attempt from <paramref name="address"/> with <paramref name="submittedKey"/> if both limits allow it.</summary>
    public LoginAttempt TryAttempt(IPAddress? address, string submittedKey)
    {
        var now = time.GetUtcNow();
        if (Interlocked.Increment(ref calls) % SweepEvery == 0) Sweep(now);

        var addressPartition = "address:" + Network(address);
        // a key without a well-formed prefix never reaches the database: the address limit alone covers it
        var keyPartition = ApiKeySecret.TryGetPrefix(submittedKey, out var prefix) ? "key:" + prefix : null;
        var addressLog = partitions.GetOrAdd(addressPartition, _ => new Queue<DateTimeOffset>());
        var keyLog = keyPartition is null ? null : partitions.GetOrAdd(keyPartition, _ => new Queue<DateTimeOffset>());

        // both logs are locked in a fixed order (address, then key) so an attempt counts in both or in neither
        lock (addressLog)
        {
            if (Wait(addressLog, limits.PerAddress, now) is { } addressWait) return new(false, addressWait, "client address");
            if (keyLog is null)
            {
                addressLog.Enqueue(now);
                return new(true, TimeSpan.Zero, null);
            }
            lock (keyLog)
            {
                if (Wait(keyLog, limits.PerKeyPrefix, now) is { } keyWait) return new(false, keyWait, "API key");
                addressLog.Enqueue(now);
                keyLog.Enqueue(now);
                return new(true, TimeSpan.Zero, null);
            }
        }
    }

    // drops attempts that left the window; null when another is allowed, else how long until the oldest leaves
    private TimeSpan? Wait(Queue<DateTimeOffset> log, int limit, DateTimeOffset now)
    {
        while (log.Count > 0 && log.Peek() <= now - limits.Window) log.Dequeue();
        return log.Count < limit ? null : log.Peek() + limits.Window - now;
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (name, log) in partitions)
        {
            lock (log)
            {
                Wait(log, int.MaxValue, now);
                // an attempt that fetched this log just before may still count into it after removal: one attempt lost, at worst
                if (log.Count == 0) partitions.TryRemove(new KeyValuePair<string, Queue<DateTimeOffset>>(name, log));
            }
        }
    }

    /// <summary>The partition of a client address: IPv4 as is, IPv6 by its /64 network; unknown (no socket) as one partition.</summary>
    public static string Network(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
