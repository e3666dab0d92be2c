using System.Diagnostics;
using KimiAudio.Model.Detokenizer;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model;

/// <summary>Where the model files are and how to run them.</summary>
public sealed record KimiAudioModelOptions
{
    /// <summary>The Kimi-Audio snapshot folder (config.json, model.safetensors.index.json + shards, tiktoken.model, …).</summary>
    public required string ModelFolder { get; init; }
    /// <summary>Whisper encoder folder; default &lt;ModelFolder&gt;/whisper-large-v3.</summary>
    public string? WhisperFolder { get; init; }
    /// <summary>GLM-4-Voice speech tokenizer folder (a separate download); default &lt;ModelFolder&gt;/glm-4-voice-tokenizer.</summary>
    public string? GlmTokenizerFolder { get; init; }
    /// <summary>"cpu", "cuda", "cuda:1", …</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>"bfloat16" (the checkpoint's dtype) or "float32".</summary>
    public string DType { get; init; } = "bfloat16";
    /// <summary>Most requests decoded together in one batch.</summary>
    public int MaxBatchSize { get; init; } = 16;
    /// <summary>Flow-matching detokenizer folder (config.yaml + model.pt); default &lt;ModelFolder&gt;/audio_detokenizer.</summary>
    public string? DetokenizerFolder { get; init; }
    /// <summary>BigVGAN vocoder folder (config.json + model.pt); default &lt;ModelFolder&gt;/vocoder.</summary>
    public string? VocoderFolder { get; init; }
    /// <summary>
    /// Load the speech half (detokenizer + vocoder) so that requests with speech output get a waveform. null = load it
    /// when both folders exist; true = required (a missing folder fails loading); false = never (speech requests fail).
    /// </summary>
    public bool? LoadSpeech { get; init; }

    public string ResolvedWhisperFolder => WhisperFolder ?? Path.Combine(ModelFolder, KimiAudioLayout.WhisperFolder);
    public string ResolvedGlmTokenizerFolder => GlmTokenizerFolder ?? Path.Combine(ModelFolder, KimiAudioLayout.GlmTokenizerFolder);
    public string ResolvedDetokenizerFolder => DetokenizerFolder ?? Path.Combine(ModelFolder, KimiAudioLayout.DetokenizerFolder);
    public string ResolvedVocoderFolder => VocoderFolder ?? Path.Combine(ModelFolder, KimiAudioLayout.VocoderFolder);

    /// <summary>Whether <see cref="KimiAudioModel.Load"/> will load the speech half.</summary>
    public bool WantsSpeech => LoadSpeech ?? (Directory.Exists(ResolvedDetokenizerFolder) && Directory.Exists(ResolvedVocoderFolder));

    public Device TorchDevice => new(Device);

    public ScalarType TorchDType => DType.ToLowerInvariant() switch
    {
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        _ => throw new ArgumentException($"unsupported dtype '{DType}' (bfloat16 or float32)"),
    };

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelFolder) || !Directory.Exists(ModelFolder))
            throw new DirectoryNotFoundException($"model folder not found: '{ModelFolder}'");
        if (MaxBatchSize < 1) throw new ArgumentException("MaxBatchSize must be >= 1");
        _ = TorchDType;
        _ = TorchDevice;
    }
}

/// <summary>What the caller wants back: text, speech (semantic ids for the detokenizer; the text stream runs along), or both.</summary>
public enum KimiAudioOutput { Text, Audio, Both }

/// <summary>
/// One request: a task over one or more 16 kHz mono audios (with an optional prompt/question), or explicit
/// messages (multi-turn). Output defaults to the task's (text for all but chat).
/// </summary>
public sealed record KimiAudioRequest
{
    public KimiTask Task { get; init; } = KimiTask.Asr;
    public IReadOnlyList<KimiMessage>? Messages { get; init; }
    public IReadOnlyList<float[]> Audios { get; init; } = [];
    /// <summary>Overrides the task instruction; the question for <see cref="KimiTask.Qa"/>.</summary>
    public string? Prompt { get; init; }
    public KimiAudioOutput? Output { get; init; }
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>-1 = the reference bound (text: 7500 − prompt; both: 1500 − prompt).</summary>
    public int MaxNewTokens { get; init; } = -1;
}

public sealed record KimiAudioTimings(double EncodeMs, double PrefillMs, double DecodeMs, int Steps, int BatchSize);

/// <summary>
/// A request's outcome. <see cref="Error"/> is set (and the rest empty) when the request itself was invalid; the other
/// requests of the call are unaffected.
/// </summary>
public sealed record KimiAudioResult
{
    public string Text { get; init; } = "";
    public long[] TextIds { get; init; } = [];
    /// <summary>Generated speech as GLM-4-Voice semantic ids (offset removed), the detokenizer's input; empty for text output.</summary>
    public long[] SemanticIds { get; init; } = [];
    /// <summary>
    /// The spoken reply (mono, <see cref="SpeechSampleRate"/> Hz, 1920 samples per semantic id); null for text output,
    /// or when the model was loaded without its speech half (then only <see cref="SemanticIds"/> are returned).
    /// </summary>
    public float[]? Speech { get; init; }
    public int SpeechSampleRate { get; init; }
    public double DetokenizeMs { get; init; }
    public int PromptLength { get; init; }
    public StopReason? Stop { get; init; }
    public KimiAudioTimings? Timings { get; init; }
    public string? Error { get; init; }
    public bool Succeeded => Error is null;
}

/// <summary>
/// Kimi-Audio-7B-Instruct (or any checkpoint with its layout): text tokenizer, audio front-end, LLM and generation,
/// batched. Thread-unsafe: one <see cref="Generate"/> at a time.
/// </summary>
public sealed class KimiAudioModel : IDisposable
{
    private readonly IAudioEncoder? encoder;
    private readonly IDisposable? ownedEncoder;
    private readonly PromptBuilder prompts;
    private readonly KimiGenerator generator;
    private readonly int maxBatch;
    private readonly SpeechDetokenizer? detokenizer;

    /// <summary>Most requests decoded together by <see cref="Generate"/> (<see cref="KimiAudioModelOptions.MaxBatchSize"/>).</summary>
    public int MaxBatchSize => maxBatch;
    public KimiaLlm Llm { get; }
    /// <summary>The speech half, when loaded (see <see cref="KimiAudioModelOptions.LoadSpeech"/>).</summary>
    public SpeechDetokenizer? Detokenizer => detokenizer;
    public KimiTextTokenizer Tokenizer { get; }
    public KimiAudioConfig Config => Llm.Config;
    /// <summary>Wall time per serving stage (front-end, prefill, decode, speech) of every call since its last reset, batch and scheduler alike.</summary>
    public StageTimes StageTimes { get; } = new();

    private KimiAudioModel(KimiaLlm llm, KimiTextTokenizer tokenizer, IAudioEncoder? encoder, bool ownsEncoder, int maxBatch,
        SpeechDetokenizer? detokenizer)
    {
        this.detokenizer = detokenizer;
        Llm = llm;
        Tokenizer = tokenizer;
        this.encoder = encoder;
        ownedEncoder = ownsEncoder ? encoder as IDisposable : null;
        prompts = new PromptBuilder(tokenizer, llm.Config);
        generator = new KimiGenerator(llm, tokenizer.Special) { Times = StageTimes };
        this.maxBatch = maxBatch;
    }

    /// <summary>
    /// Loads the LLM and the text tokenizer, and the audio front-end from <paramref name="encoder"/> when given (it
    /// stays the caller's), else from the Whisper and GLM tokenizer folders.
    /// </summary>
    public static KimiAudioModel Load(KimiAudioModelOptions options, IAudioEncoder? encoder = null)
    {
        options.Validate();
        if (encoder is null) FrontEndEncoder.FoldersPresent(options); // fail before the (large) LLM loads
        var tokenizer = KimiTextTokenizer.Load(options.ModelFolder);
        var llm = KimiaLlm.Load(options.ModelFolder, options.TorchDevice, options.TorchDType);
        SpeechDetokenizer? detokenizer = null;
        try
        {
            if (options.WantsSpeech)
                detokenizer = SpeechDetokenizer.Load(options.ResolvedDetokenizerFolder, options.ResolvedVocoderFolder, options.TorchDevice, options.TorchDType);
            bool owns = encoder is null;
            encoder ??= FrontEndEncoder.TryLoad(options, llm.Config);
            return new KimiAudioModel(llm, tokenizer, encoder, owns, options.MaxBatchSize, detokenizer);
        }
        catch
        {
            detokenizer?.Dispose();
            llm.Dispose();
            throw;
        }
    }

    /// <summary>Builds the prompt a request would run with (for inspection and tests).</summary>
    public KimiPrompt BuildPrompt(KimiAudioRequest request) => prompts.Build(MessagesOf(request), OutputTypeOf(request), encoder);

    public IReadOnlyList<KimiAudioResult> Generate(IReadOnlyList<KimiAudioRequest> requests, CancellationToken ct)
    {
        var results = new KimiAudioResult?[requests.Count];
        var encoded = new List<EncodedAudio>();
        try
        {
            ct.ThrowIfCancellationRequested();
            var ready = Prepare(requests, results, encoded, r => generator.LoopBound(r.Prompt.Length, r.Output, r.MaxNewTokens));
            // similar prompt lengths share a batch, so little of each batch is padding
            foreach (var chunk in ready.OrderBy(x => x.Request.Prompt.Length).Chunk(maxBatch))
            {
                var outputs = generator.Generate(chunk.Select(x => x.Request).ToList(), ct);
                var speaking = new List<(int Index, KimiAudioResult Result, SamplingOptions Sampling)>();
                for (int j = 0; j < chunk.Length; j++)
                {
                    var (index, request, encodeMs) = chunk[j];
                    results[index] = ResultOf(outputs[j], request, encodeMs, chunk.Length);
                    if (WillSpeak(request)) speaking.Add((index, results[index]!, request.Sampling));
                }
                var spoken = Speak(speaking.Select(x => (x.Result, x.Sampling)).ToList(), ct);
                for (int j = 0; j < speaking.Count; j++) results[speaking[j].Index] = spoken[j];
            }
        }
        finally
        {
            // features made here live on the model's device: free them now rather than at garbage collection
            foreach (var e in encoded) e.Features?.Dispose();
        }
        return results.Select(r => r!).ToArray();
    }

    /// <summary>A request ready to generate: its index in the call, the generation request and its front-end time.</summary>
    internal readonly record struct PreparedRequest(int Index, GenerationRequest Request, double EncodeMs);

    /// <summary>
    /// Validates the requests, runs the front-end once over all their audios (batched), builds the prompts and checks
    /// each with <paramref name="check"/> (loop bound / KV capacity). A request that fails gets its error in
    /// <paramref name="results"/> and is left out; encodings made are added to <paramref name="made"/> (the caller
    /// frees them after the prefill).
    /// </summary>
    internal List<PreparedRequest> Prepare(IReadOnlyList<KimiAudioRequest> requests, KimiAudioResult?[] results, List<EncodedAudio> made,
        Func<GenerationRequest, int> check)
    {
        var messages = new IReadOnlyList<KimiMessage>?[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            if (results[i] is not null) continue;
            try
            {
                requests[i].Sampling.Validate();
                messages[i] = MessagesOf(requests[i]);
            }
            catch (ArgumentException e)
            {
                results[i] = new KimiAudioResult { Error = e.Message };
            }
        }
        long frontEndStart = Stopwatch.GetTimestamp();
        var encodeClock = Stopwatch.StartNew();
        EncodeAudios(messages, results, made);
        double encodeMs = encodeClock.Elapsed.TotalMilliseconds;

        var ready = new List<PreparedRequest>();
        for (int i = 0; i < requests.Count; i++)
        {
            if (messages[i] is null || results[i] is not null) continue;
            var clock = Stopwatch.StartNew();
            try
            {
                var r = requests[i];
                var output = OutputTypeOf(r);
                var prompt = prompts.Build(messages[i]!, output, encoder);
                var request = new GenerationRequest(prompt, output, r.Sampling, r.MaxNewTokens);
                check(request);
                ready.Add(new PreparedRequest(i, request, encodeMs + clock.Elapsed.TotalMilliseconds));
            }
            catch (Exception e) when (e is ArgumentException or ContextLimitException or KvCapacityException or InvalidOperationException)
            {
                results[i] = new KimiAudioResult { Error = e.Message };
            }
        }
        StageTimes.Add(ServingStage.FrontEnd, frontEndStart);
        return ready;
    }

    /// <summary>The result of one finished row (speech not yet rendered).</summary>
    internal KimiAudioResult ResultOf(GenerationOutput o, GenerationRequest request, double encodeMs, int batchSize)
    {
        var textIds = OutputIds.Text(o.GeneratedTextIds, Config.TokenOffset, Tokenizer.Special.TextEos);
        return new KimiAudioResult
        {
            Text = Tokenizer.Decode(textIds.Select(t => (int)t)),
            TextIds = textIds,
            SemanticIds = request.Output == KimiOutputType.Both ? OutputIds.Semantic(o.GeneratedAudioIds, Config.TokenOffset) : [],
            PromptLength = o.PromptLength,
            Stop = o.Stop,
            Timings = new KimiAudioTimings(encodeMs, o.PrefillMs, o.DecodeMs, o.StepTextIds.Length, batchSize),
        };
    }

    /// <summary>Whether a finished row of <paramref name="request"/> gets a waveform (speech output and a loaded detokenizer).</summary>
    internal bool WillSpeak(GenerationRequest request) => request.Output == KimiOutputType.Both && detokenizer is not null;

    /// <summary>Detokenizes several finished rows' speech together (each as if alone, seeded from its request).</summary>
    internal IReadOnlyList<KimiAudioResult> Speak(IReadOnlyList<(KimiAudioResult Result, SamplingOptions Sampling)> rows, CancellationToken ct)
    {
        if (rows.Count == 0 || detokenizer is null) return rows.Select(r => r.Result).ToArray();
        var clock = Stopwatch.StartNew();
        var noises = rows.Select(r => new SeededNoiseSource(SpeechSeed(r.Sampling))).ToList();
        try
        {
            long start = Stopwatch.GetTimestamp();
            var waves = detokenizer.DetokenizeBatch(rows.Select(r => (IReadOnlyList<long>)r.Result.SemanticIds).ToList(), noises, ct);
            StageTimes.Add(ServingStage.Speech, start);
            double ms = clock.Elapsed.TotalMilliseconds;
            return rows.Select((r, j) => r.Result with { Speech = waves[j], SpeechSampleRate = detokenizer.SampleRate, DetokenizeMs = ms }).ToArray();
        }
        finally
        {
            foreach (var n in noises) n.Dispose();
        }
    }

    /// <summary>
    /// Streams the spoken reply of <paramref name="result"/> piece by piece as detokenizer chunks complete (the first
    /// piece after the first chunk), for callers that play or upload progressively.
    /// </summary>
    public IEnumerable<float[]> StreamSpeech(KimiAudioResult result, SamplingOptions sampling, CancellationToken ct)
    {
        if (detokenizer is null) throw new InvalidOperationException("no detokenizer/vocoder is loaded");
        using var noise = new SeededNoiseSource(SpeechSeed(sampling));
        foreach (var piece in detokenizer.DetokenizeStreaming(result.SemanticIds, noise, ct)) yield return piece;
    }

    /// <summary>The detokenizer's initial-noise seed: derived from the request's seed so runs repeat exactly.</summary>
    private static long SpeechSeed(SamplingOptions sampling) => unchecked((long)(sampling.Seed * 0x9E3779B97F4A7C15UL + 0x5EED));

    /// <summary>
    /// Runs the front-end once over every raw audio of the call (user audio with features, assistant speech history
    /// tokens only) and replaces the messages' samples by their encodings. Empty audio fails its request only.
    /// </summary>
    private void EncodeAudios(IReadOnlyList<KimiMessage>?[] messages, KimiAudioResult?[] results, List<EncodedAudio> made)
    {
        if (encoder is null) return;
        foreach (bool withFeatures in new[] { Config.UseWhisperFeature, false }.Distinct())
        {
            var slots = new List<(int Request, int Message)>();
            for (int i = 0; i < messages.Length; i++)
            {
                var list = messages[i];
                if (list is null || results[i] is not null) continue;
                for (int k = 0; k < list.Count; k++)
                {
                    var m = list[k];
                    bool wantsFeatures = m.Type == KimiMessageType.Audio && Config.UseWhisperFeature;
                    if (m.Audio is null || m.Encoded is not null || wantsFeatures != withFeatures) continue;
                    if (m.Audio.Length == 0)
                    {
                        results[i] = new KimiAudioResult { Error = $"message {k}: audio is empty" };
                        break;
                    }
                    slots.Add((i, k));
                }
            }
            slots.RemoveAll(s => results[s.Request] is not null);
            if (slots.Count == 0) continue;
            var encoded = encoder.EncodeBatch(slots.Select(s => messages[s.Request]![s.Message].Audio!).ToList(), withFeatures);
            made.AddRange(encoded);
            for (int j = 0; j < slots.Count; j++)
            {
                var (r, k) = slots[j];
                var list = messages[r]!.ToList();
                list[k] = list[k] with { Audio = null, Encoded = encoded[j] };
                messages[r] = list;
            }
        }
    }

    private static KimiOutputType OutputTypeOf(KimiAudioRequest r) => (r.Output ?? (r.Task == KimiTask.Chat ? KimiAudioOutput.Both : KimiAudioOutput.Text)) switch
    {
        KimiAudioOutput.Text => KimiOutputType.Text,
        _ => KimiOutputType.Both, // the reference has no audio-only mode: speech comes with its text stream
    };

    private static IReadOnlyList<KimiMessage> MessagesOf(KimiAudioRequest r)
    {
        if (r.Messages is { Count: > 0 }) return r.Messages;
        return TaskTemplates.Messages(r.Task, r.Audios.Select(KimiMessage.UserAudio).ToList(), r.Prompt);
    }

    public void Dispose()
    {
        ownedEncoder?.Dispose();
        detokenizer?.Dispose();
        Llm.Dispose();
    }
}
