using System.Diagnostics;
using System.Diagnostics.Metrics;
using Amazon.Runtime;
using KimiAudio.Audio;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.ServiceDefaults.Observability;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;
using Npgsql;

namespace KimiAudio.Worker.Telemetry;

/// <summary>
/// The worker's spans (job → fetch, decode, infer, store; children of the message's trace) and metrics (meter
/// "KimiAudio.Worker"). Failure reasons are a fixed set so the label stays bounded; the message text goes to the log.
/// </summary>
public sealed class WorkerTelemetry
{
    public static readonly ActivitySource Source = new(PipelineTelemetry.WorkerName);

    /// <summary>The values the "reason" label of kimiaudio.worker.job.failures takes.</summary>
    public static readonly IReadOnlyList<string> FailureReasons = ["decode", "input", "storage", "engine", "database", "timeout", "cancelled", "other"];

    private readonly Counter<double> audioSeconds;
    private readonly Counter<long> tokens;
    private readonly Counter<long> retries;
    private readonly Counter<long> failures;
    private readonly Histogram<double> duration;

    public WorkerTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(PipelineTelemetry.WorkerName);
        audioSeconds = meter.CreateCounter<double>("kimiaudio.worker.audio.processed", "s",
            "Seconds of input audio run through the model (rate() = audio seconds per second)");
        tokens = meter.CreateCounter<long>("kimiaudio.worker.tokens.generated", "{token}", "Tokens the model generated, by kind (text, audio)");
        retries = meter.CreateCounter<long>("kimiaudio.worker.retries", "{retry}",
            "Retries, by kind: redelivery (a job taken on attempt > 1) or the resilience pipeline retried (s3, postgres)");
        failures = meter.CreateCounter<long>("kimiaudio.worker.job.failures", "{failure}",
            "Failed job attempts by reason (decode, input, storage, engine, database, timeout, cancelled, other)");
        duration = meter.CreateHistogram<double>("kimiaudio.worker.job.duration", "s",
            "Time from taking a job to its outcome, by outcome (succeeded, failed, retry, lease_lost, cancelled, aborted)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] });
    }

    public void AudioProcessed(double seconds) => audioSeconds.Add(seconds);

    public void TokensGenerated(int text, int audio)
    {
        if (text > 0) tokens.Add(text, new KeyValuePair<string, object?>("kind", "text"));
        if (audio > 0) tokens.Add(audio, new KeyValuePair<string, object?>("kind", "audio"));
    }

    public void Retried(string kind) => retries.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void Failed(string reason) => failures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void JobFinished(TimeSpan elapsed, string outcome)
        => duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Maps a job's fault onto one of <see cref="FailureReasons"/>; <paramref name="fallback"/> for a fault of no known kind.</summary>
    public static string ReasonOf(Exception ex, string fallback = "other") => ex switch
    {
        AudioDecodeException => "decode",
        PermanentJobException => "input",
        ObjectNotFoundException or ObjectTooLargeException or AmazonServiceException or AmazonClientException => "storage",
        EngineRejectedException => "engine",
        NpgsqlException => "database",
        TimeoutException => "timeout",
        OperationCanceledException => "timeout", // a request timed out; the caller's own cancellation is counted as "cancelled"
        _ => fallback,
    };

    /// <summary>Records the exception on a span (OpenTelemetry's exception event) and marks it failed.</summary>
    public static void RecordError(Activity? span, Exception ex, string reason)
    {
        if (span is null) return;
        span.SetStatus(ActivityStatusCode.Error, reason);
        span.SetTag("error.type", reason);
        span.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = ex.GetType().FullName,
            ["exception.message"] = ex.Message,
        }));
    }
}
