using KimiAudio.Model;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Prompting;

namespace KimiAudio.Worker.Engine;

/// <summary>
/// The worker's default engine: the TorchSharp Kimi-Audio model (workers/KimiAudio.Model) behind
/// <see cref="IInferenceEngine"/>. Translates the worker's requests into the model's own request type and back; one
/// call runs all requests as one batched prefill + decode loop (and one batched detokenization for speech).
/// </summary>
public sealed class TorchKimiAudioEngine : IInferenceEngine, IDisposable
{
    private readonly KimiAudioModel model;
    private readonly SemaphoreSlim gate = new(1, 1); // the model runs one batch at a time

    public string ModelId { get; }
    public int MaxBatchSize { get; }

    private TorchKimiAudioEngine(KimiAudioModel model, string modelId, int maxBatchSize)
    {
        this.model = model;
        ModelId = modelId;
        MaxBatchSize = maxBatchSize;
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

    public async Task<IReadOnlyList<EngineResult>> RunAsync(IReadOnlyList<EngineRequest> requests, CancellationToken ct)
    {
        var modelRequests = requests.Select(ToModelRequest).ToList();
        await gate.WaitAsync(ct);
        try
        {
            // the forward passes are long and synchronous: keep them off the caller's thread
            var results = await Task.Run(() => model.Generate(modelRequests, ct), ct);
            return requests.Select((r, i) => FromModelResult(r, results[i])).ToList();
        }
        finally
        {
            gate.Release();
        }
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
        model.Dispose();
        gate.Dispose();
    }
}
