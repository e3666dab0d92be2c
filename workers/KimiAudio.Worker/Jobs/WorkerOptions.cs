using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Worker.Jobs;

/// <summary>How the worker takes, leases, retries and bounds jobs. Bound from section "Worker".</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Identifies this process in lease_owner; defaults to host name + process id.</summary>
    public string? WorkerId { get; set; }
    /// <summary>Messages per micro-batch; 0 = the engine's MaxBatchSize.</summary>
    [Range(0, 1024)] public int BatchSize { get; set; }
    /// <summary>How long a micro-batch waits to fill up.</summary>
    [Range(1, 60_000)] public int BatchTimeLimitMs { get; set; } = 200;
    /// <summary>Micro-batches processed at once by one worker.</summary>
    [Range(1, 64)] public int ConcurrentBatches { get; set; } = 1;
    /// <summary>A running job whose worker has not renewed its lease for this long is given back to the queue.</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 60;
    /// <summary>A job that makes no progress (no segment finished) for this long stops renewing its lease: a hung model call.</summary>
    [Range(1, 24 * 3600)] public int StallSeconds { get; set; } = 600;
    /// <summary>Redelivery delay after a failed attempt: base × 2^(attempt-1), with jitter.</summary>
    [Range(0, 3600)] public double RedeliveryBaseDelaySeconds { get; set; } = 5;
    [Range(1, 24 * 3600)] public double MaxAudioSeconds { get; set; } = 4 * 3600;
    [Range(1, long.MaxValue)] public long MaxInputBytes { get; set; } = 1L << 30;
    /// <summary>Segment length fed to the model (its window is 30 s).</summary>
    [Range(1, 30)] public double SegmentSeconds { get; set; } = 30;
    /// <summary>Download + decode of this many jobs of a micro-batch run at once.</summary>
    [Range(1, 64)] public int DownloadParallelism { get; set; } = 8;
    /// <summary>Port of the worker's HTTP listener (/health/live, /health/ready, /metrics) on all interfaces; 0 = any free port.</summary>
    [Range(0, 65535)] public int HttpPort { get; set; } = 8080;
}
