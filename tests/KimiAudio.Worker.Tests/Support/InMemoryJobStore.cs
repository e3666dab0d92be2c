using System.Collections.Concurrent;
using KimiAudio.Worker.Jobs;

namespace KimiAudio.Worker.Tests.Support;

/// <summary>
/// The job rows of <see cref="JobRepository"/> in memory, with the same conditions as its SQL: a claim only of a
/// pending/queued job or a running one whose lease expired (attempts + 1), every outcome only while the caller holds
/// the lease, a segment or result written once. Time is real time, so leases expire as they do in Postgres.
/// </summary>
public sealed class InMemoryJobStore : IJobStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<Guid, Row> rows = [];
    private readonly ConcurrentDictionary<(Guid Job, int Segment), SegmentCheckpoint> segments = new();
    private readonly ConcurrentDictionary<Guid, (JobResultRow Row, DateTime At)> results = new();

    public sealed class Row
    {
        public string State { get; set; } = "queued";
        public int Attempts { get; set; }
        public int MaxAttempts { get; set; } = 5;
        public string? LeaseOwner { get; set; }
        public DateTime? LeaseExpiresAt { get; set; }
        public double? RedeliverAfterSeconds { get; set; }
        public string? Error { get; set; }
        public int Renewals { get; set; }
    }

    public void Add(Guid jobId, int maxAttempts = 5)
    {
        lock (gate) rows[jobId] = new Row { MaxAttempts = maxAttempts };
    }

    public Row Get(Guid jobId)
    {
        lock (gate) return rows[jobId];
    }

    public string StateOf(Guid jobId)
    {
        lock (gate) return rows[jobId].State;
    }

    public IReadOnlyDictionary<Guid, (JobResultRow Row, DateTime At)> Results => results;

    public IEnumerable<SegmentCheckpoint> SegmentsOf(Guid jobId) => segments.Where(p => p.Key.Job == jobId).Select(p => p.Value).OrderBy(s => s.SegmentIndex);

    public void Seed(Guid jobId, SegmentCheckpoint checkpoint) => segments[(jobId, checkpoint.SegmentIndex)] = checkpoint;

    public Task<int?> TryClaimAsync(Guid jobId, string owner, int leaseSeconds, CancellationToken ct)
    {
        lock (gate)
        {
            if (!rows.TryGetValue(jobId, out var r)) return Task.FromResult<int?>(null);
            var free = r.State is "pending" or "queued" || (r.State == "running" && r.LeaseExpiresAt < DateTime.UtcNow);
            if (!free) return Task.FromResult<int?>(null);
            r.State = "running";
            r.Attempts++;
            r.LeaseOwner = owner;
            r.LeaseExpiresAt = DateTime.UtcNow.AddSeconds(leaseSeconds);
            r.RedeliverAfterSeconds = null;
            return Task.FromResult<int?>(r.Attempts);
        }
    }

    public Task<JobStateRow?> GetStateAsync(Guid jobId, CancellationToken ct)
    {
        lock (gate)
            return Task.FromResult(rows.TryGetValue(jobId, out var r) ? new JobStateRow { State = r.State, LeaseOwner = r.LeaseOwner, Attempts = r.Attempts } : null);
    }

    public Task<int> RenewLeasesAsync(Guid[] jobIds, string owner, int leaseSeconds, CancellationToken ct)
    {
        lock (gate)
        {
            var n = 0;
            foreach (var id in jobIds)
                if (rows.TryGetValue(id, out var r) && Holds(r, owner))
                {
                    r.LeaseExpiresAt = DateTime.UtcNow.AddSeconds(leaseSeconds);
                    r.Renewals++;
                    n++;
                }
            return Task.FromResult(n);
        }
    }

    public Task<IReadOnlyList<SegmentCheckpoint>> GetSegmentsAsync(Guid jobId, CancellationToken ct)
        => Task.FromResult<IReadOnlyList<SegmentCheckpoint>>(SegmentsOf(jobId).ToList());

    public Task SaveSegmentAsync(Guid jobId, SegmentCheckpoint segment, CancellationToken ct)
    {
        segments.TryAdd((jobId, segment.SegmentIndex), segment);
        return Task.CompletedTask;
    }

    public Task<bool> CompleteAsync(JobResultRow row, string owner, CancellationToken ct)
    {
        lock (gate)
        {
            if (!rows.TryGetValue(row.JobId, out var r) || !Holds(r, owner)) return Task.FromResult(false);
            r.State = "succeeded";
            r.Error = null;
            r.LeaseOwner = null;
            r.LeaseExpiresAt = null;
            results.TryAdd(row.JobId, (row, DateTime.UtcNow));
            return Task.FromResult(true);
        }
    }

    public Task<bool> FailAsync(Guid jobId, string owner, string error, double? audioSeconds, CancellationToken ct)
    {
        lock (gate)
        {
            if (!rows.TryGetValue(jobId, out var r) || !Holds(r, owner)) return Task.FromResult(false);
            r.State = "failed";
            r.Error = error;
            r.LeaseOwner = null;
            r.LeaseExpiresAt = null;
            return Task.FromResult(true);
        }
    }

    public Task<string?> AttemptFailedAsync(Guid jobId, string owner, string error, double delaySeconds, CancellationToken ct)
    {
        lock (gate)
        {
            if (!rows.TryGetValue(jobId, out var r) || !Holds(r, owner)) return Task.FromResult<string?>(null);
            r.State = r.Attempts >= r.MaxAttempts ? "failed" : "queued";
            r.RedeliverAfterSeconds = r.State == "queued" ? delaySeconds : null;
            r.Error = error;
            r.LeaseOwner = null;
            r.LeaseExpiresAt = null;
            return Task.FromResult<string?>(r.State);
        }
    }

    public Task<int> ReleaseAsync(Guid[] jobIds, string owner, CancellationToken ct)
    {
        lock (gate)
        {
            var n = 0;
            foreach (var id in jobIds)
                if (rows.TryGetValue(id, out var r) && Holds(r, owner))
                {
                    r.State = "queued";
                    r.Attempts = Math.Max(0, r.Attempts - 1);
                    r.LeaseOwner = null;
                    r.LeaseExpiresAt = null;
                    r.RedeliverAfterSeconds = 0;
                    n++;
                }
            return Task.FromResult(n);
        }
    }

    private static bool Holds(Row r, string owner) => r.State == "running" && r.LeaseOwner == owner;
}
