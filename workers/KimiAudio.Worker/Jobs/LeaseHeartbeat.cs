using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Renews the leases of the jobs a micro-batch holds, every third of the lease. A job renews only while it makes
/// progress: one stalled longer than the stall limit (a hung model call) stops renewing, its lease runs out, and the
/// orchestrator's sweeper gives it to another worker. The first stall also calls <c>onStall</c>: the worker then stops
/// itself, because a process whose model call hangs also holds prefetched messages that only a closed channel returns.
/// </summary>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, long> lastProgress = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly JobRepository repository;
    private readonly string owner;
    private readonly int leaseSeconds;
    private readonly TimeSpan stallLimit;
    private readonly ILogger logger;
    private readonly Action onStall;
    private int stalled;

    public LeaseHeartbeat(JobRepository repository, string owner, int leaseSeconds, TimeSpan stallLimit, ILogger logger, Action onStall)
    {
        this.onStall = onStall;
        this.repository = repository;
        this.owner = owner;
        this.leaseSeconds = leaseSeconds;
        this.stallLimit = stallLimit;
        this.logger = logger;
        loop = Task.Run(RunAsync);
    }

    public void Track(Guid jobId) => lastProgress[jobId] = Environment.TickCount64;

    /// <summary>The job did something (download, decode, a segment): its lease keeps being renewed.</summary>
    public void Progress(Guid jobId)
    {
        if (lastProgress.ContainsKey(jobId)) lastProgress[jobId] = Environment.TickCount64;
    }

    public void Untrack(Guid jobId) => lastProgress.TryRemove(jobId, out _);

    public Guid[] Tracked => lastProgress.Keys.ToArray();

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.5, leaseSeconds / 3.0)));
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                var now = Environment.TickCount64;
                var alive = lastProgress.Where(p => now - p.Value < stallLimit.TotalMilliseconds).Select(p => p.Key).ToArray();
                if (alive.Length < lastProgress.Count && Interlocked.Exchange(ref stalled, 1) == 0)
                {
                    logger.LogCritical("{Count} job(s) made no progress for {Stall}; their leases are left to expire", lastProgress.Count - alive.Length, stallLimit);
                    onStall();
                }
                if (alive.Length == 0) continue;
                try
                {
                    await repository.RenewLeasesAsync(alive, owner, leaseSeconds, stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Lease renewal for {Count} job(s) failed", alive.Length);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }
}
