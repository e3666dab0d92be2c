using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Worker.Jobs;

/// <summary>How the worker takes, leases, retries and bounds jobs. Bound from section "Worker".</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Identifies this process in lease_owner; defaults to host name + process id.</summary>
    public string? WorkerId { get; set; }
    /// <summary>
    /// Jobs (messages) this worker holds at once: the endpoint's concurrent message limit and prefetch count. Jobs beyond
    /// the ones in the model are downloading, decoding, waiting for a slot or writing their result. 0 = 2 × the engine's MaxBatchSize.
    /// </summary>
    [Range(0, 4096)] public int MaxJobsInFlight { get; set; }
    /// <summary>Segments handed to the engine at once (in its slots or next in its queue). 0 = 2 × the engine's MaxBatchSize.</summary>
    [Range(0, 4096)] public int MaxInFlightSegments { get; set; }
    /// <summary>
    /// Decoded audio (seconds) this worker holds ahead of and in the model: a job starts its download only while less
    /// than this is held, and gives its share back when its last segment leaves the model. Bounds memory at
    /// PrefetchAudioSeconds + DownloadParallelism × the longest input (a job longer than the budget runs alone).
    /// </summary>
    [Range(1, 7 * 24 * 3600)] public double PrefetchAudioSeconds { get; set; } = 1800;
    /// <summary>A running job whose worker has not renewed its lease for this long is given back to the queue.</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 60;
    /// <summary>A job with a segment in the model that makes no progress (no segment finished) for this long stops renewing its lease: a hung model call.</summary>
    [Range(1, 24 * 3600)] public int StallSeconds { get; set; } = 600;
    /// <summary>Redelivery delay after a failed attempt: base × 2^(attempt-1), with jitter.</summary>
    [Range(0, 3600)] public double RedeliveryBaseDelaySeconds { get; set; } = 5;
    [Range(1, 24 * 3600)] public double MaxAudioSeconds { get; set; } = 4 * 3600;
    [Range(1, long.MaxValue)] public long MaxInputBytes { get; set; } = 1L << 30;
    /// <summary>Segment length fed to the model (its window is 30 s).</summary>
    [Range(1, 30)] public double SegmentSeconds { get; set; } = 30;
    /// <summary>Downloads + decodes that run at once.</summary>
    [Range(1, 64)] public int DownloadParallelism { get; set; } = 8;
    /// <summary>Port of the worker's HTTP listener (/health/live, /health/ready, /metrics) on all interfaces; 0 = any free port.</summary>
    [Range(0, 65535)] public int HttpPort { get; set; } = 8080;
}
