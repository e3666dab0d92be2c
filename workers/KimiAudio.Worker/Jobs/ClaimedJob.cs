using System.Collections.Concurrent;
using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.Worker.Telemetry;

namespace KimiAudio.Worker.Jobs;

/// <summary>One job this worker holds the lease of, as it moves through prepare → run segments → finish.</summary>
public sealed class ClaimedJob
{
    private ClaimedJob(ProcessAudio message, int attempt)
    {
        Message = message;
        Attempt = attempt;
        LogScope = new Dictionary<string, object> { ["BatchId"] = message.BatchId, ["JobId"] = message.JobId, ["Attempt"] = attempt };
    }

    public ProcessAudio Message { get; }
    public int Attempt { get; }
    /// <summary>16 kHz mono samples of the whole input (set by the preparation, dropped once the segments are done).</summary>
    public float[] Samples { get; set; } = [];
    public IReadOnlyList<SegmentSpan>? Plan { get; set; }
    /// <summary>Finished segments by index: resumed checkpoints and the ones this attempt ran.</summary>
    public ConcurrentDictionary<int, SegmentCheckpoint> Done { get; } = new();
    public ConcurrentDictionary<string, double> TimingsMs { get; } = new();
    public double? AudioSeconds { get; set; }
    /// <summary>The job's share of the prefetch budget (its decoded seconds), given back by <see cref="DropAudio"/>.</summary>
    public IDisposable? BudgetShare { get; set; }
    public Activity? Span { get; private set; }
    public Dictionary<string, object> LogScope { get; }
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private bool ended;

    /// <summary>Opens the job's span (child of the message's trace); a job taken on attempt &gt; 1 counts as a redelivery.</summary>
    public static ClaimedJob Start(ProcessAudio message, int attempt, ActivityContext parent, WorkerTelemetry telemetry)
    {
        var job = new ClaimedJob(message, attempt);
        job.Span = WorkerTelemetry.Source.StartActivity("job", ActivityKind.Internal, parent);
        job.Span?.SetTag("kimiaudio.job_id", message.JobId);
        job.Span?.SetTag("kimiaudio.batch_id", message.BatchId);
        job.Span?.SetTag("kimiaudio.attempt", attempt);
        job.Span?.SetTag("kimiaudio.task", message.Task);
        if (attempt > 1) telemetry.Retried("redelivery");
        return job;
    }

    /// <summary>Closes the span and records the job's duration by outcome (once).</summary>
    public void End(string outcome, WorkerTelemetry telemetry)
    {
        if (ended) return;
        ended = true;
        telemetry.JobFinished(clock.Elapsed, outcome);
        Span?.SetTag("kimiaudio.outcome", outcome);
        Span?.Dispose();
    }

    /// <summary>Lets go of the decoded samples and gives the job's prefetch share back.</summary>
    public void DropAudio()
    {
        Samples = [];
        BudgetShare?.Dispose();
        BudgetShare = null;
    }
}
