using KimiAudio.Worker.Engine;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>The worker's in-flight limits, with the engine-derived defaults (a setting of 0) resolved once.</summary>
public sealed class WorkerLimits
{
    public WorkerLimits(IOptions<WorkerOptions> options, IInferenceEngine engine)
    {
        var o = options.Value;
        var slots = Math.Max(1, engine.MaxBatchSize);
        JobsInFlight = o.MaxJobsInFlight > 0 ? o.MaxJobsInFlight : 2 * slots;
        // one more slot's worth waiting in the engine's queue, so a freed slot is taken at the next step
        SegmentsInFlight = o.MaxInFlightSegments > 0 ? o.MaxInFlightSegments : 2 * slots;
        PrefetchAudioSeconds = o.PrefetchAudioSeconds;
        DownloadParallelism = o.DownloadParallelism;
    }

    public int JobsInFlight { get; }
    public int SegmentsInFlight { get; }
    public double PrefetchAudioSeconds { get; }
    public int DownloadParallelism { get; }
}
