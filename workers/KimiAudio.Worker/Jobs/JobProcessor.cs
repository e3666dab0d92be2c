using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Runs a micro-batch of jobs: lease each, download and decode, split into ≤ 30 s segments, run the engine over the
/// unfinished segments of all jobs together (checkpointing each finished one), upload speech, then write result and
/// state in one transaction. Each job's fault is its own: permanent ones fail the job, transient ones schedule a retry.
/// </summary>
public sealed class JobProcessor(
    JobRepository repository,
    IObjectStore store,
    IInferenceEngine engine,
    WorkerIdentity identity,
    IOptions<WorkerOptions> workerOptions,
    IOptions<S3Options> s3Options,
    IHostApplicationLifetime lifetime,
    WorkerTelemetry telemetry,
    ILogger<JobProcessor> logger)
{
    private readonly WorkerOptions options = workerOptions.Value;

    /// <param name="traceParents">Per message, the trace context it was published in (its job span becomes a child of it); default: the current activity.</param>
    public async Task<IReadOnlyList<JobOutcome>> ProcessAsync(
        IReadOnlyList<ProcessAudio> messages, CancellationToken ct, IReadOnlyList<ActivityContext>? traceParents = null)
    {
        var outcomes = new ConcurrentBag<JobOutcome>();
        var claimed = new List<ClaimedJob>();
        var seen = new HashSet<Guid>();
        for (var index = 0; index < messages.Count; index++)
        {
            var message = messages[index];
            if (!seen.Add(message.JobId))
            {
                outcomes.Add(new JobOutcome(message, JobOutcomeKind.Skipped, "duplicate message in the same micro-batch"));
                continue;
            }
            var attempt = await repository.TryClaimAsync(message.JobId, identity.Id, options.LeaseSeconds, ct);
            if (attempt is { } n) claimed.Add(StartJob(message, n, traceParents is { } p && index < p.Count ? p[index] : default));
            else outcomes.Add(new JobOutcome(message, JobOutcomeKind.Skipped, await DescribeUnclaimableAsync(message.JobId, ct)));
        }
        if (claimed.Count == 0) return outcomes.ToList();

        await using var heartbeat = new LeaseHeartbeat(repository, identity.Id, options.LeaseSeconds, TimeSpan.FromSeconds(options.StallSeconds), logger, () =>
        {
            logger.LogCritical("Model call stalled: stopping this worker so its messages return to the queue (its supervisor restarts it)");
            lifetime.StopApplication();
        });
        foreach (var job in claimed) heartbeat.Track(job.Message.JobId);
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.DownloadParallelism, CancellationToken = ct };
            await Parallel.ForEachAsync(claimed, parallel, async (job, token) =>
                await GuardAsync(job, heartbeat, outcomes, () => PrepareAsync(job, heartbeat, token), token));
            await RunEngineAsync(claimed.Where(j => j.Plan is not null && !j.Faulted).ToList(), heartbeat, outcomes, ct);
            await Parallel.ForEachAsync(claimed.Where(j => j.Plan is not null && !j.Faulted), parallel, async (job, token) =>
                await GuardAsync(job, heartbeat, outcomes, () => FinishAsync(job, heartbeat, outcomes, token), token));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            foreach (var job in claimed.Where(j => !j.Ended))
            {
                telemetry.Failed("cancelled");
                EndJob(job, "cancelled");
            }
            await ReleaseOnShutdownAsync(heartbeat.Tracked);
            throw;
        }
        catch (Exception)
        {
            // a whole-batch fault (e.g. Postgres gone while recording an outcome): the message is retried as a whole
            foreach (var job in claimed) EndJob(job, "aborted");
            throw;
        }
        return outcomes.ToList();
    }

    private async Task PrepareAsync(ClaimedJob job, LeaseHeartbeat heartbeat, CancellationToken ct)
    {
        var m = job.Message;
        var clock = Stopwatch.StartNew();
        byte[] bytes;
        using (var fetch = WorkerTelemetry.Source.StartActivity("fetch"))
        {
            fetch?.SetTag("kimiaudio.object", $"s3://{m.Input.Bucket}/{m.Input.Key}");
            bytes = await store.GetBytesAsync(m.Input.Bucket, m.Input.Key, options.MaxInputBytes, ct);
            fetch?.SetTag("kimiaudio.bytes", bytes.Length);
        }
        job.TimingsMs["download"] = clock.Elapsed.TotalMilliseconds;
        heartbeat.Progress(m.JobId);

        clock.Restart();
        var limits = new AudioDecodeLimits(options.MaxAudioSeconds, options.MaxInputBytes, AudioDecoder.ModelSampleRate) { Region = m.Region.ToAudioRegion() };
        DecodedAudio audio;
        using (var decode = WorkerTelemetry.Source.StartActivity("decode"))
        {
            audio = await AudioDecoder.DecodeAsync(bytes, m.Input.Key, limits, ct);
            decode?.SetTag("kimiaudio.audio_seconds", audio.DurationSeconds);
        }
        job.TimingsMs["decode"] = clock.Elapsed.TotalMilliseconds;
        job.AudioSeconds = audio.DurationSeconds;
        if (audio.Samples.Length == 0) throw new PermanentJobException("empty audio: the file decodes to no samples");
        if (audio.DurationSeconds > options.MaxAudioSeconds)
            throw new PermanentJobException($"audio is {audio.DurationSeconds:F1} s long, over the limit of {options.MaxAudioSeconds:F0} s");
        foreach (var s in audio.Samples)
            if (!float.IsFinite(s)) throw new PermanentJobException("decoded audio contains NaN or infinite samples");

        job.Samples = audio.Samples;
        job.Plan = SegmentSpan.Plan(audio.Samples.Length, (int)(options.SegmentSeconds * AudioDecoder.ModelSampleRate));
        foreach (var checkpoint in await repository.GetSegmentsAsync(m.JobId, ct))
        {
            // a checkpoint counts only if it covers exactly the same samples (the segment length may have changed)
            if (checkpoint.SegmentIndex < job.Plan.Count && job.Plan[checkpoint.SegmentIndex] is var span
                && span.Start == checkpoint.StartSample && span.End == checkpoint.EndSample)
                job.Done[checkpoint.SegmentIndex] = checkpoint;
        }
        if (job.Done.Count > 0)
            logger.LogInformation("Job {JobId} resumes at segment {Next} of {Count}", m.JobId, job.Done.Count, job.Plan.Count);
        heartbeat.Progress(m.JobId);
    }

    private async Task RunEngineAsync(List<ClaimedJob> jobs, LeaseHeartbeat heartbeat, ConcurrentBag<JobOutcome> outcomes, CancellationToken ct)
    {
        var pending = jobs.SelectMany(j => j.Plan!.Where(s => !j.Done.ContainsKey(s.Index)).Select(s => (Job: j, Span: s))).ToList();
        var batchSize = Math.Max(1, engine.MaxBatchSize);
        for (var offset = 0; offset < pending.Count; offset += batchSize)
        {
            var chunk = pending.Skip(offset).Take(batchSize).Where(p => !p.Job.Faulted).ToList();
            if (chunk.Count == 0) continue;
            IReadOnlyList<(EngineResult? Result, Exception? Error)> results;
            // one engine call serves several jobs: the span is a child of the first job's span and links the others
            var links = chunk.Skip(1).Where(p => p.Job.Span is not null).Select(p => new ActivityLink(p.Job.Span!.Context)).ToList();
            using (var infer = WorkerTelemetry.Source.StartActivity("infer", ActivityKind.Internal, chunk[0].Job.Span?.Context ?? default, links: links))
            {
                infer?.SetTag("kimiaudio.segments", chunk.Count);
                infer?.SetTag("kimiaudio.model", engine.ModelId);
                results = await RunChunkAsync(chunk.Select(p => ToRequest(p.Job, p.Span)).ToList(), ct);
            }
            for (var i = 0; i < chunk.Count; i++)
            {
                var (job, span) = chunk[i];
                if (job.Faulted) continue;
                await GuardAsync(job, heartbeat, outcomes, async () =>
                {
                    var result = results[i].Result ?? throw results[i].Error!;
                    var checkpoint = ToCheckpoint(span, result);
                    await repository.SaveSegmentAsync(job.Message.JobId, checkpoint, ct);
                    job.Done[span.Index] = checkpoint;
                    heartbeat.Progress(job.Message.JobId);
                    telemetry.AudioProcessed((double)(span.End - span.Start) / AudioDecoder.ModelSampleRate);
                    telemetry.TokensGenerated(result.TextTokens.Count, result.AudioTokens.Count);
                }, ct, fallbackReason: "engine");
            }
        }
    }

    /// <summary>Runs the chunk in one engine call; if that call fails, runs each request alone so one bad input cannot sink the others.</summary>
    private async Task<IReadOnlyList<(EngineResult? Result, Exception? Error)>> RunChunkAsync(List<EngineRequest> requests, CancellationToken ct)
    {
        try
        {
            var results = await engine.RunAsync(requests, ct);
            if (results.Count != requests.Count)
                throw new InvalidOperationException($"engine returned {results.Count} results for {requests.Count} requests");
            return results.Select(r => ((EngineResult?)r, (Exception?)null)).ToList();
        }
        catch (Exception ex) when (requests.Count > 1 && !(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            logger.LogWarning(ex, "Engine call for {Count} requests failed; running them one by one", requests.Count);
            var single = new List<(EngineResult?, Exception?)>();
            foreach (var request in requests) single.Add((await RunChunkAsync([request], ct))[0]);
            return single;
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            return [(null, ex)];
        }
    }

    private async Task FinishAsync(ClaimedJob job, LeaseHeartbeat heartbeat, ConcurrentBag<JobOutcome> outcomes, CancellationToken ct)
    {
        var m = job.Message;
        using var storeSpan = WorkerTelemetry.Source.StartActivity("store");
        var segments = job.Plan!.Select(s => job.Done[s.Index]).ToList();
        string? artifactKey = null;
        var speech = segments.Where(s => s.SpeechPcm16 is { Length: > 0 }).SelectMany(s => s.SpeechPcm16!).ToArray();
        if (m.OutputType is "audio" or "both" && speech.Length > 0)
        {
            var clock = Stopwatch.StartNew();
            artifactKey = ArtifactKeys.For(s3Options.Value.ResultsPrefix, m.BatchId, m.JobId);
            var wav = WavWriter.Pcm16Mono(SpeechPcm.FromPcm16(speech), EngineResult.SpeechSampleRate);
            await store.PutAsync(m.Input.Bucket, artifactKey, wav, "audio/wav", ct);
            job.TimingsMs["upload"] = clock.Elapsed.TotalMilliseconds;
        }
        foreach (var segment in segments)
            foreach (var (stage, ms) in JsonSerializer.Deserialize<Dictionary<string, double>>(segment.TimingsJson) ?? [])
                job.TimingsMs[stage] = job.TimingsMs.GetValueOrDefault(stage) + ms;
        job.TimingsMs["segments"] = segments.Count;

        var row = new JobResultRow
        {
            JobId = m.JobId,
            BatchId = m.BatchId,
            Task = m.Task,
            InputBucket = m.Input.Bucket,
            InputKey = m.Input.Key,
            InputETag = m.Input.ETag,
            InputSize = m.Input.Size,
            OptionsHash = m.OptionsHash,
            Text = string.Join(" ", segments.Select(s => s.Text.Trim()).Where(t => t.Length > 0)),
            TextTokens = segments.SelectMany(s => s.TextTokens).ToArray(),
            AudioTokens = segments.SelectMany(s => s.AudioTokens).ToArray(),
            ArtifactBucket = artifactKey is null ? null : m.Input.Bucket,
            ArtifactKey = artifactKey,
            AudioSeconds = job.AudioSeconds ?? 0,
            ModelId = engine.ModelId,
            TimingsJson = JsonSerializer.Serialize(job.TimingsMs),
        };
        var committed = await repository.CompleteAsync(ResultScoring.Apply(row, m), identity.Id, ct);
        storeSpan?.Dispose();
        heartbeat.Untrack(m.JobId);
        EndJob(job, committed ? "succeeded" : "lease_lost");
        outcomes.Add(new JobOutcome(m, committed ? JobOutcomeKind.Succeeded : JobOutcomeKind.LeaseLost));
        if (!committed) logger.LogWarning("Job {JobId}: lease lost before the result was written; another worker owns it", m.JobId);
    }

    /// <summary>Runs one step of one job; a fault is recorded against that job only.</summary>
    /// <remarks>The step runs inside the job's span and log scope (BatchId, JobId, Attempt).</remarks>
    private async Task GuardAsync(
        ClaimedJob job, LeaseHeartbeat heartbeat, ConcurrentBag<JobOutcome> outcomes, Func<Task> step, CancellationToken ct, string fallbackReason = "other")
    {
        using var scope = logger.BeginScope(job.LogScope);
        Activity.Current = job.Span ?? Activity.Current;
        try
        {
            await step();
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            job.Faulted = true;
            heartbeat.Untrack(job.Message.JobId);
            outcomes.Add(await RecordFaultAsync(job, ex, WorkerTelemetry.ReasonOf(ex, fallbackReason), ct));
        }
    }

    private async Task<JobOutcome> RecordFaultAsync(ClaimedJob job, Exception ex, string reasonLabel, CancellationToken ct)
    {
        var m = job.Message;
        var reason = Describe(ex);
        telemetry.Failed(reasonLabel);
        WorkerTelemetry.RecordError(job.Span, ex, reasonLabel);
        if (IsPermanent(ex))
        {
            logger.LogWarning("Job {JobId} ({Key}) failed permanently: {Reason}", m.JobId, m.Input.Key, reason);
            var failed = await repository.FailAsync(m.JobId, identity.Id, reason, job.AudioSeconds, ct);
            EndJob(job, failed ? "failed" : "lease_lost");
            return new JobOutcome(m, failed ? JobOutcomeKind.Failed : JobOutcomeKind.LeaseLost, reason);
        }
        var delay = options.RedeliveryBaseDelaySeconds * Math.Pow(2, Math.Min(job.Attempt - 1, 16)) * (0.8 + 0.4 * Random.Shared.NextDouble());
        var state = await repository.AttemptFailedAsync(m.JobId, identity.Id, $"attempt {job.Attempt}: {reason}", delay, ct);
        logger.LogWarning(ex, "Job {JobId} attempt {Attempt} failed ({State}): {Reason}", m.JobId, job.Attempt, state ?? "lease lost", reason);
        EndJob(job, state switch { "failed" => "failed", "queued" => "retry", _ => "lease_lost" });
        return state switch
        {
            "failed" => new JobOutcome(m, JobOutcomeKind.AttemptsExhausted, reason),
            "queued" => new JobOutcome(m, JobOutcomeKind.RetryScheduled, reason),
            _ => new JobOutcome(m, JobOutcomeKind.LeaseLost, reason),
        };
    }

    public static bool IsPermanent(Exception ex)
        => ex is AudioDecodeException or ObjectNotFoundException or ObjectTooLargeException or EngineRejectedException or PermanentJobException;

    private static string Describe(Exception ex) => ex switch
    {
        AudioDecodeException => $"undecodable audio: {ex.Message}",
        EngineRejectedException => $"rejected by the model: {ex.Message}",
        _ when IsPermanent(ex) => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private async Task<string> DescribeUnclaimableAsync(Guid jobId, CancellationToken ct)
    {
        var row = await repository.GetStateAsync(jobId, ct);
        var why = row is null ? "no such job in the database" : $"job is {row.State}" + (row.LeaseOwner is { } o ? $", leased by {o}" : "");
        logger.LogInformation("Job {JobId} not taken: {Why}", jobId, why);
        return why;
    }

    private async Task ReleaseOnShutdownAsync(Guid[] jobIds)
    {
        if (jobIds.Length == 0) return;
        try
        {
            var released = await repository.ReleaseAsync(jobIds, identity.Id, CancellationToken.None);
            logger.LogInformation("Shutdown: handed {Count} unfinished job(s) back", released);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shutdown: could not hand {Count} job(s) back; their leases will expire", jobIds.Length);
        }
    }

    /// <summary>Opens the job's span (child of the message's trace) and log scope; a job taken on attempt &gt; 1 counts as a redelivery.</summary>
    private ClaimedJob StartJob(ProcessAudio message, int attempt, ActivityContext parent)
    {
        var job = new ClaimedJob(message, attempt);
        var current = Activity.Current;
        job.Span = WorkerTelemetry.Source.StartActivity("job", ActivityKind.Internal, parent);
        Activity.Current = current; // the span is entered per step (GuardAsync), not here
        job.Span?.SetTag("kimiaudio.job_id", message.JobId);
        job.Span?.SetTag("kimiaudio.batch_id", message.BatchId);
        job.Span?.SetTag("kimiaudio.attempt", attempt);
        job.Span?.SetTag("kimiaudio.task", message.Task);
        if (attempt > 1) telemetry.Retried("redelivery");
        return job;
    }

    private void EndJob(ClaimedJob job, string outcome)
    {
        if (job.Ended) return;
        job.Ended = true;
        telemetry.JobFinished(job.Clock.Elapsed, outcome);
        job.Span?.SetTag("kimiaudio.outcome", outcome);
        job.Span?.Dispose();
    }

    private static EngineRequest ToRequest(ClaimedJob job, SegmentSpan span) => new()
    {
        JobId = job.Message.JobId,
        SegmentIndex = span.Index,
        Task = job.Message.Task,
        Prompt = job.Message.Prompt,
        Question = job.Message.Question,
        Samples = job.Samples.AsMemory(span.Start, span.End - span.Start),
        OutputType = job.Message.OutputType switch { "audio" => EngineOutputType.Audio, "both" => EngineOutputType.Both, _ => EngineOutputType.Text },
        Sampling = new EngineSampling(job.Message.Sampling.Temperature, job.Message.Sampling.TopK, job.Message.Sampling.RepetitionPenalty,
            job.Message.Sampling.Seed, job.Message.Sampling.MaxTokens),
    };

    private static SegmentCheckpoint ToCheckpoint(SegmentSpan span, EngineResult result) => new()
    {
        SegmentIndex = span.Index,
        StartSample = span.Start,
        EndSample = span.End,
        Text = result.Text,
        TextTokens = result.TextTokens.ToArray(),
        AudioTokens = result.AudioTokens.ToArray(),
        SpeechPcm16 = result.Speech is { Length: > 0 } speech ? SpeechPcm.ToPcm16(speech) : null,
        TimingsJson = JsonSerializer.Serialize(result.TimingsMs),
    };

    private sealed class ClaimedJob(ProcessAudio message, int attempt)
    {
        public ProcessAudio Message { get; } = message;
        public int Attempt { get; } = attempt;
        public float[] Samples { get; set; } = [];
        public IReadOnlyList<SegmentSpan>? Plan { get; set; }
        public ConcurrentDictionary<int, SegmentCheckpoint> Done { get; } = new();
        public ConcurrentDictionary<string, double> TimingsMs { get; } = new();
        public double? AudioSeconds { get; set; }
        public bool Faulted { get; set; }
        public Activity? Span { get; set; }
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public bool Ended { get; set; }
        public Dictionary<string, object> LogScope { get; } = new()
        {
            ["BatchId"] = message.BatchId,
            ["JobId"] = message.JobId,
            ["Attempt"] = attempt,
        };
    }
}
