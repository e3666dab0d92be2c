using System.Diagnostics;
using KimiAudio.Audio;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Gets a job ready for the model, ahead of it: waits for room in the prefetch budget, downloads and decodes the input
/// (16 kHz mono), rejects what the model cannot take, plans the segments and picks up the checkpoints of an earlier attempt.
/// </summary>
public sealed class InputPreparer(
    IObjectStore objects, IJobStore store, AudioBudget budget, LeaseHeartbeat heartbeat, SegmentPlanner planner,
    IOptions<WorkerOptions> workerOptions, ILogger<InputPreparer> logger)
{
    private readonly WorkerOptions options = workerOptions.Value;

    public async Task PrepareAsync(ClaimedJob job, CancellationToken ct)
    {
        var m = job.Message;
        using (var admission = await budget.AdmitAsync(ct))
        {
            heartbeat.Progress(m.JobId);
            var audio = await DownloadAndDecodeAsync(job, ct);
            job.BudgetShare = admission.Hold(audio.DurationSeconds);
            job.AudioSeconds = audio.DurationSeconds;
            Validate(audio);
            job.Samples = audio.Samples;
        }
        job.Plan = await planner.PlanAsync(job.Samples, ct);
        await ResumeAsync(job, ct);
        heartbeat.Progress(m.JobId);
    }

    private async Task<DecodedAudio> DownloadAndDecodeAsync(ClaimedJob job, CancellationToken ct)
    {
        var m = job.Message;
        var clock = Stopwatch.StartNew();
        byte[] bytes;
        using (var fetch = WorkerTelemetry.Source.StartActivity("fetch"))
        {
            fetch?.SetTag("kimiaudio.object", $"s3://{m.Input.Bucket}/{m.Input.Key}");
            bytes = await objects.GetBytesAsync(m.Input.Bucket, m.Input.Key, options.MaxInputBytes, ct);
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
        return audio;
    }

    private void Validate(DecodedAudio audio)
    {
        if (audio.Samples.Length == 0) throw new PermanentJobException("empty audio: the file decodes to no samples");
        if (audio.DurationSeconds > options.MaxAudioSeconds)
            throw new PermanentJobException($"audio is {audio.DurationSeconds:F1} s long, over the limit of {options.MaxAudioSeconds:F0} s");
        foreach (var s in audio.Samples)
            if (!float.IsFinite(s)) throw new PermanentJobException("decoded audio contains NaN or infinite samples");
    }

    /// <summary>A checkpoint counts only if it covers exactly the same samples (the segment length may have changed).</summary>
    private async Task ResumeAsync(ClaimedJob job, CancellationToken ct)
    {
        var plan = job.Plan!;
        foreach (var checkpoint in await store.GetSegmentsAsync(job.Message.JobId, ct))
        {
            if (checkpoint.SegmentIndex < plan.Count && plan[checkpoint.SegmentIndex] is var span
                && span.Start == checkpoint.StartSample && span.End == checkpoint.EndSample)
                job.Done[checkpoint.SegmentIndex] = checkpoint;
        }
        if (job.Done.Count > 0)
            logger.LogInformation("Job {JobId} resumes at segment {Next} of {Count}", job.Message.JobId, job.Done.Count, plan.Count);
    }
}
