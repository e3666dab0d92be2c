using KimiAudio.Audio;
using KimiAudio.Vad;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>
/// The one place a job's segment plan is made: at pauses (Silero VAD, the default) or every Worker:SegmentSeconds
/// (Segmentation:Mode=Fixed). Both are deterministic, so a retried job finds its checkpoints under the same spans.
/// </summary>
public sealed class SegmentPlanner : IDisposable
{
    private readonly int maxSamples;
    private readonly SileroVad? vad;
    private readonly VadSegmenter? segmenter;

    public SegmentPlanner(IOptions<SegmentationOptions> segmentation, IOptions<WorkerOptions> worker)
    {
        Mode = segmentation.Value.Mode;
        maxSamples = (int)(worker.Value.SegmentSeconds * AudioDecoder.ModelSampleRate);
        if (Mode != SegmentationMode.Vad) return;
        vad = SileroVad.Open(VadModelLocator.Resolve(segmentation.Value.VadModelPath));
        segmenter = new VadSegmenter(vad, rules: CutRules.Default with { MaxSamples = maxSamples });
    }

    public SegmentationMode Mode { get; }

    /// <summary>Consecutive spans covering all of <paramref name="samples"/> (16 kHz), each at most Worker:SegmentSeconds.</summary>
    public IReadOnlyList<SegmentSpan> Plan(float[] samples, CancellationToken ct)
    {
        if (segmenter is null || samples.Length <= maxSamples) return SegmentSpan.Plan(samples.Length, maxSamples);
        return segmenter.Segment(samples, ct).Select((p, i) => new SegmentSpan(i, p.Start, p.End)).ToList();
    }

    /// <summary><see cref="Plan"/> on a thread of its own: the VAD scores long audio for seconds of CPU, and a thread-pool
    /// thread held that long is one the lease heartbeats and the bus wait for.</summary>
    public async Task<IReadOnlyList<SegmentSpan>> PlanAsync(float[] samples, CancellationToken ct)
        => segmenter is null || samples.Length <= maxSamples
            ? SegmentSpan.Plan(samples.Length, maxSamples)
            : await Task.Factory.StartNew(() => Plan(samples, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public void Dispose() => vad?.Dispose();
}

public static class SegmentPlannerRegistration
{
    public static IServiceCollection AddSegmentPlanner(this IServiceCollection services)
    {
        services.AddOptions<SegmentationOptions>().BindConfiguration(SegmentationOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SegmentationOptions>, SegmentationOptionsValidator>());
        services.AddSingleton<SegmentPlanner>();
        return services;
    }
}
