namespace KimiAudio.Worker.Jobs;

/// <summary>
/// The worker's durable state of a job: its lease, its segment checkpoints and its outcome. <see cref="JobRepository"/>
/// is the implementation (PostgreSQL); every write is conditional on this worker still holding the lease, so a worker
/// whose lease was taken over writes nothing.
/// </summary>
public interface IJobStore
{
    /// <summary>Takes the job if nobody may be working on it: pending/queued, or running with an expired lease. Returns the attempt number.</summary>
    Task<int?> TryClaimAsync(Guid jobId, string owner, int leaseSeconds, CancellationToken ct);

    /// <summary>State and lease owner of a job that could not be claimed (null: no such job).</summary>
    Task<JobStateRow?> GetStateAsync(Guid jobId, CancellationToken ct);

    /// <summary>Extends the leases this worker still holds; returns how many.</summary>
    Task<int> RenewLeasesAsync(Guid[] jobIds, string owner, int leaseSeconds, CancellationToken ct);

    Task<IReadOnlyList<SegmentCheckpoint>> GetSegmentsAsync(Guid jobId, CancellationToken ct);

    /// <summary>Checkpoints one finished segment; a second write of the same segment is ignored.</summary>
    Task SaveSegmentAsync(Guid jobId, SegmentCheckpoint segment, CancellationToken ct);

    /// <summary>In one transaction: the job succeeds and its result row is written, only while this worker holds the lease. False: lease lost, nothing written.</summary>
    Task<bool> CompleteAsync(JobResultRow row, string owner, CancellationToken ct);

    /// <summary>Permanent fault: the job fails now with its reason (false: lease lost).</summary>
    Task<bool> FailAsync(Guid jobId, string owner, string error, double? audioSeconds, CancellationToken ct);

    /// <summary>Transient fault: back to queued, due after <paramref name="delaySeconds"/>, or failed once attempts are used up. The new state, or null when the lease was lost.</summary>
    Task<string?> AttemptFailedAsync(Guid jobId, string owner, string error, double delaySeconds, CancellationToken ct);

    /// <summary>Shutdown: hands unfinished jobs back without counting the attempt, due now.</summary>
    Task<int> ReleaseAsync(Guid[] jobIds, string owner, CancellationToken ct);
}
