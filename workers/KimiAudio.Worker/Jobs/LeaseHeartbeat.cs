using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Renews the leases of every job this worker holds, in one UPDATE every third of the lease. A job renews while it is
/// outside the model (downloading, waiting for a slot, writing) and, while it has a segment in the model, only as long
/// as it makes progress: one stalled in the model longer than <see cref="WorkerOptions.StallSeconds"/> (a hung model
/// call) stops renewing, its lease runs out, and the orchestrator's sweeper gives it to another worker. The first
/// stall also stops the worker: a process whose model hangs also holds prefetched messages that only a closed channel
/// returns (its supervisor starts a fresh one).
/// </summary>
public sealed class LeaseHeartbeat(
    IJobStore store, WorkerIdentity identity, IOptions<WorkerOptions> options, IHostApplicationLifetime lifetime, ILogger<LeaseHeartbeat> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Entry> jobs = new();
    private readonly int leaseSeconds = options.Value.LeaseSeconds;
    private readonly long stallMs = options.Value.StallSeconds * 1000L;
    private int stalled;

    public void Track(Guid jobId) => jobs[jobId] = new Entry();

    /// <summary>The job did something (download, decode, a segment): its stall clock starts again.</summary>
    public void Progress(Guid jobId)
    {
        if (jobs.TryGetValue(jobId, out var e)) e.Touch();
    }

    /// <summary>A segment of the job enters the model: from now on the job must make progress to keep its lease.</summary>
    public void EnterModel(Guid jobId)
    {
        if (jobs.TryGetValue(jobId, out var e)) e.Enter();
    }

    /// <summary>A segment of the job left the model (finished or failed).</summary>
    public void LeaveModel(Guid jobId)
    {
        if (jobs.TryGetValue(jobId, out var e)) e.Leave();
    }

    public void Untrack(Guid jobId) => jobs.TryRemove(jobId, out _);

    public Guid[] Tracked => jobs.Keys.ToArray();

    /// <summary>Tracked jobs whose lease is still renewed (not stalled in the model).</summary>
    public Guid[] Alive()
    {
        var now = Environment.TickCount64;
        return jobs.Where(p => !p.Value.StalledAt(now, stallMs)).Select(p => p.Key).ToArray();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.5, leaseSeconds / 3.0)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var alive = Alive();
                var stalledCount = jobs.Count - alive.Length;
                if (stalledCount > 0 && Interlocked.Exchange(ref stalled, 1) == 0)
                {
                    logger.LogCritical("{Count} job(s) made no progress in the model for {Stall} s; their leases are left to expire and this worker stops "
                        + "so its messages return to the queue (its supervisor restarts it)", stalledCount, stallMs / 1000);
                    lifetime.StopApplication();
                }
                if (alive.Length == 0) continue;
                try
                {
                    await store.RenewLeasesAsync(alive, identity.Id, leaseSeconds, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Lease renewal for {Count} job(s) failed", alive.Length);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed class Entry
    {
        private readonly Lock gate = new();
        private long lastProgress = Environment.TickCount64;
        private int inModel;

        public void Touch()
        {
            lock (gate) lastProgress = Environment.TickCount64;
        }

        public void Enter()
        {
            lock (gate)
            {
                if (inModel++ == 0) lastProgress = Environment.TickCount64;
            }
        }

        public void Leave()
        {
            lock (gate)
            {
                inModel = Math.Max(0, inModel - 1);
                lastProgress = Environment.TickCount64;
            }
        }

        public bool StalledAt(long now, long stallMs)
        {
            lock (gate) return inModel > 0 && now - lastProgress >= stallMs;
        }
    }
}
