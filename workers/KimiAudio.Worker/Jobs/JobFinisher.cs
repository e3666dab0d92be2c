using System.Diagnostics;
using System.Text.Json;
using KimiAudio.Audio;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Lands a job whose segments are all done: uploads its speech (a deterministic key, so a retry overwrites), then
/// writes its result row and its state in one transaction, only while this worker still holds the lease.
/// </summary>
public sealed class JobFinisher(
    IObjectStore objects, IJobStore store, IInferenceEngine engine, WorkerIdentity identity, IOptions<S3Options> s3Options,
    WorkerTelemetry telemetry, ILogger<JobFinisher> logger)
{
    public async Task<JobOutcome> FinishAsync(ClaimedJob job, CancellationToken ct)
    {
        var m = job.Message;
        bool committed;
        using (WorkerTelemetry.Source.StartActivity("store"))
        {
            var segments = job.Plan!.Select(s => job.Done[s.Index]).ToList();
            var artifactKey = await UploadSpeechAsync(job, segments, ct);
            foreach (var segment in segments)
                foreach (var (stage, ms) in JsonSerializer.Deserialize<Dictionary<string, double>>(segment.TimingsJson) ?? [])
                    job.TimingsMs[stage] = job.TimingsMs.GetValueOrDefault(stage) + ms;
            job.TimingsMs["segments"] = segments.Count;
            var row = JobResultRow.From(m, segments, artifactKey, job.AudioSeconds ?? 0, engine.ModelId, JsonSerializer.Serialize(job.TimingsMs));
            committed = await store.CompleteAsync(ResultScoring.Apply(row, m), identity.Id, ct);
        }
        job.End(committed ? "succeeded" : "lease_lost", telemetry);
        if (!committed) logger.LogWarning("Job {JobId}: lease lost before the result was written; another worker owns it", m.JobId);
        return new JobOutcome(m, committed ? JobOutcomeKind.Succeeded : JobOutcomeKind.LeaseLost);
    }

    /// <returns>The artifact's key, or null when the job asked for no speech or the model produced none.</returns>
    private async Task<string?> UploadSpeechAsync(ClaimedJob job, IReadOnlyList<SegmentCheckpoint> segments, CancellationToken ct)
    {
        var m = job.Message;
        if (m.OutputType is not ("audio" or "both")) return null;
        var speech = segments.Where(s => s.SpeechPcm16 is { Length: > 0 }).SelectMany(s => s.SpeechPcm16!).ToArray();
        if (speech.Length == 0) return null;
        var clock = Stopwatch.StartNew();
        var key = ArtifactKeys.For(s3Options.Value.ResultsPrefix, m.BatchId, m.JobId);
        var wav = WavWriter.Pcm16Mono(SpeechPcm.FromPcm16(speech), EngineResult.SpeechSampleRate);
        await objects.PutAsync(m.Input.Bucket, key, wav, "audio/wav", ct);
        job.TimingsMs["upload"] = clock.Elapsed.TotalMilliseconds;
        return key;
    }
}
