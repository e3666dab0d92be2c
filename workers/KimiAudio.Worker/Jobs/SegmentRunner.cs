using System.Diagnostics;
using System.Text.Json;
using KimiAudio.Audio;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Telemetry;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// Runs a job's unfinished segments through the engine, all of them at once as far as the worker-wide limit of
/// in-flight segments (Worker:MaxInFlightSegments) lets them; the engine batches them with the segments of every other
/// job. Each finished segment is checkpointed at once (its slot already serves another request meanwhile). The first
/// failing segment fails the job and takes its other segments out of the model.
/// </summary>
public sealed class SegmentRunner(IInferenceEngine engine, IJobStore store, LeaseHeartbeat heartbeat, WorkerLimits limits, WorkerTelemetry telemetry)
    : IDisposable
{
    private readonly SemaphoreSlim inFlight = new(limits.SegmentsInFlight, limits.SegmentsInFlight);

    /// <summary>Segments in the engine now (in a slot or in its queue).</summary>
    public int InFlight => limits.SegmentsInFlight - inFlight.CurrentCount;

    public async Task RunAsync(ClaimedJob job, CancellationToken ct)
    {
        var pending = job.Plan!.Where(s => !job.Done.ContainsKey(s.Index)).ToList();
        if (pending.Count == 0) return;
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // a fault outranks the cancellations it causes in the job's other segments: WhenAll rethrows the fault
        await Task.WhenAll(pending.Select(span => RunSegmentAsync(job, span, failFast)));
    }

    private async Task RunSegmentAsync(ClaimedJob job, SegmentSpan span, CancellationTokenSource failFast)
    {
        var ct = failFast.Token;
        var jobId = job.Message.JobId;
        EngineResult result;
        await inFlight.WaitAsync(ct);
        heartbeat.EnterModel(jobId);
        try
        {
            using var infer = WorkerTelemetry.Source.StartActivity("infer", ActivityKind.Internal, job.Span?.Context ?? default);
            infer?.SetTag("kimiaudio.segment", span.Index);
            infer?.SetTag("kimiaudio.model", engine.ModelId);
            result = await engine.RunAsync(ToRequest(job, span), ct);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            await failFast.CancelAsync();
            throw;
        }
        finally
        {
            heartbeat.LeaveModel(jobId);
            inFlight.Release();
        }
        try
        {
            var checkpoint = ToCheckpoint(span, result);
            await store.SaveSegmentAsync(jobId, checkpoint, ct);
            job.Done[span.Index] = checkpoint;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            await failFast.CancelAsync();
            throw;
        }
        heartbeat.Progress(jobId);
        telemetry.AudioProcessed((double)(span.End - span.Start) / AudioDecoder.ModelSampleRate);
        telemetry.TokensGenerated(result.TextTokens.Count, result.AudioTokens.Count);
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

    public void Dispose() => inFlight.Dispose();
}
