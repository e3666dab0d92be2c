using KimiAudio.Model;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Prompting;

namespace KimiAudio.Worker.Engine;

/// <summary>
/// The worker's default engine: the TorchSharp Kimi-Audio model (workers/KimiAudio.Model) behind
/// <see cref="IInferenceEngine"/>. Translates the worker's requests into the model's own request type and back. Every
/// request of every job goes through ONE <see cref="KimiAudioScheduler"/>: segments of different jobs share its slots,
/// join at any decode step and leave as soon as they stop (no call waits for another call's batch).
/// </summary>
public sealed class TorchKimiAudioEngine : IInferenceEngine, IDisposable
{
    private readonly KimiAudioModel model;
    private readonly KimiAudioScheduler scheduler;

    public string ModelId { get; }
    public int MaxBatchSize { get; }

    private TorchKimiAudioEngine(KimiAudioModel model, string modelId, int maxBatchSize)
    {
        this.model = model;
        ModelId = modelId;
        MaxBatchSize = maxBatchSize;
        // no waiting-queue bound here: the worker bounds what it submits (Worker:MaxInFlightSegments)
        scheduler = new KimiAudioScheduler(model, new KimiAudioSchedulerOptions { MaxBatchSize = maxBatchSize });
    }

    public static TorchKimiAudioEngine Load(EngineOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ModelPath))
            throw new InvalidOperationException("Engine:ModelPath is required for the torch engine (the Kimi-Audio checkpoint folder)");
        var model = KimiAudioModel.Load(new KimiAudioModelOptions
        {
            ModelFolder = options.ModelPath,
            GlmTokenizerFolder = Optional(options.GlmTokenizerPath),
            DetokenizerFolder = Optional(options.DetokenizerPath),
            VocoderFolder = Optional(options.VocoderPath),
            Device = options.Device,
            DType = options.DType,
            MaxBatchSize = options.MaxBatchSize,
        });
        if (model.Detokenizer is { } d && d.SampleRate != EngineResult.SpeechSampleRate)
        {
            model.Dispose();
            throw new InvalidOperationException($"the vocoder produces {d.SampleRate} Hz; the worker stores {EngineResult.SpeechSampleRate} Hz speech");
        }
        var name = Optional(options.ModelId) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ModelPath)));
        return new TorchKimiAudioEngine(model, $"{name}@{options.DType}", options.MaxBatchSize);
    }

    /// <summary>An empty setting (e.g. an exported but empty environment variable) means "use the default".</summary>
    private static string? Optional(string? path) => string.IsNullOrWhiteSpace(path) ? null : path;

    public async Task<EngineResult> RunAsync(EngineRequest request, CancellationToken ct)
    {
        var modelRequest = ToModelRequest(request);
        // the scheduler's own thread runs the forward passes; this only waits for the row of this request
        var result = await scheduler.SubmitAsync(modelRequest, ct);
        return FromModelResult(request, result);
    }

    private KimiAudioRequest ToModelRequest(EngineRequest r)
    {
        KimiTask task;
        try { task = TaskTemplates.Parse(r.Task); }
        catch (ArgumentException e) { throw new EngineRejectedException(r.JobId, e.Message); }
        if (r.OutputType != EngineOutputType.Text && model.Detokenizer is null)
            throw new EngineRejectedException(r.JobId, $"output type {r.OutputType.ToString().ToLowerInvariant()} needs speech generation, but the model folder has no audio_detokenizer/vocoder");
        var text = new StreamSampling(r.Sampling.Temperature, r.Sampling.TopK, r.Sampling.RepetitionPenalty, SamplingOptions.Greedy.Text.RepetitionWindow);
        return new KimiAudioRequest
        {
            Task = task,
            Audios = [r.Samples.ToArray()],
            Prompt = r.Question ?? r.Prompt,
            Output = r.OutputType == EngineOutputType.Text ? KimiAudioOutput.Text : KimiAudioOutput.Both,
            Sampling = SamplingOptions.Recommended with { Text = text, Seed = unchecked((ulong)r.Sampling.Seed) },
            MaxNewTokens = r.Sampling.MaxTokens > 0 ? r.Sampling.MaxTokens : -1,
        };
    }

    private static EngineResult FromModelResult(EngineRequest request, KimiAudioResult result)
    {
        if (!result.Succeeded) throw new EngineRejectedException(request.JobId, result.Error!);
        var timings = new Dictionary<string, double>();
        if (result.Timings is { } t)
        {
            timings["encode"] = t.EncodeMs;
            timings["prefill"] = t.PrefillMs;
            timings["decode"] = t.DecodeMs;
        }
        if (result.Speech is not null) timings["detokenize"] = result.DetokenizeMs;
        return new EngineResult
        {
            Text = result.Text,
            TextTokens = result.TextIds.Select(x => (int)x).ToList(),
            AudioTokens = result.SemanticIds.Select(x => (int)x).ToList(),
            Speech = result.Speech,
            TimingsMs = timings,
        };
    }

    public void Dispose()
    {
        scheduler.Dispose(); // fails what is still in flight, then lets go of the model's thread
        model.Dispose();
    }
}
