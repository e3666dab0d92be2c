using System.Diagnostics;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Bench.Model;

/// <summary>Where the profiled steps of one lane spent their time (fractions of the steps' total).</summary>
public sealed record StageShares(double Attention, double Mlp, double TextHead, double AudioHead, double Sampling)
{
    public double Other => Math.Max(0, 1 - Attention - Mlp - TextHead - AudioHead - Sampling);
}

/// <summary>Sums the model's profiler spans per stage (synchronising an asynchronous device at each span edge).</summary>
public sealed class StageTimes(Device device) : ILlmProfiler
{
    private readonly long[] ticks = new long[Enum.GetValues<LlmStage>().Length];

    public long Begin(LlmStage stage)
    {
        Sync();
        return Stopwatch.GetTimestamp();
    }

    public void End(LlmStage stage, long startTimestamp)
    {
        Sync();
        ticks[(int)stage] += Stopwatch.GetTimestamp() - startTimestamp;
    }

    public double Seconds(LlmStage stage) => ticks[(int)stage] / (double)Stopwatch.Frequency;

    private void Sync()
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }
}

/// <summary>What <see cref="DecodeBench.Run"/> measured: one lane per (batch, context), each step timed in the same rounds.</summary>
public sealed class DecodeResult
{
    internal readonly Dictionary<(int Batch, int Context), Lane> Lanes = [];

    public required int Context { get; init; }
    public required int ShortContext { get; init; }
    public required int LongContext { get; init; }
    public required double PrefillTokensPerSecond { get; init; }
    public required double UncachedTokensPerSecond { get; init; }
    /// <summary>Bytes of weights one decode step reads for one row: every layer, both norms and heads (the embedding rows are per row).</summary>
    public required long WeightBytesPerStep { get; init; }
    public required long EmbeddingRowBytes { get; init; }
    public required long KvBytesPerPosition { get; init; }
    public required double RssMbPerSlot { get; init; }
    /// <summary>Copy bandwidth (bytes read + written per second, GB/s), median of one copy per round, in the same rounds as the steps.</summary>
    public required double CopyGBps { get; init; }

    public bool Has(int batch, int context) => Lanes.ContainsKey((batch, context));

    /// <summary>16 text answers (greedy, the asr shape) at the prompt's context: steps that skip the audio branch.</summary>
    internal Lane? TextLane { get; set; }

    /// <summary>Median step time of <see cref="TextLane"/>, ms.</summary>
    public double TextStepMs => TextLane is { } l ? Median(l.StepSeconds) * 1000 : double.NaN;

    /// <summary>Median step time of the lane, ms: the one definition every decode figure of that lane derives from.</summary>
    public double StepMs(int batch, int context) => Lanes.TryGetValue((batch, context), out var l) ? Median(l.StepSeconds) * 1000 : double.NaN;

    public StageShares Shares(int batch, int context)
    {
        var l = Lanes[(batch, context)];
        double total = l.StepSeconds.Sum();
        double S(LlmStage s) => l.Times.Seconds(s) / total;
        return new StageShares(S(LlmStage.Attention), S(LlmStage.Mlp), S(LlmStage.TextHead), S(LlmStage.AudioHead), S(LlmStage.Sampling));
    }

    /// <summary>Weights + gathered embedding rows + the KV cache attended over (every row, every layer, keys and values), per step.</summary>
    public double BytesPerStep(int batch, int context)
    {
        var l = Lanes[(batch, context)];
        return WeightBytesPerStep + batch * EmbeddingRowBytes + KvBytesPerPosition * l.AttendedPositions.Average();
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s[s.Count / 2];
    }

    internal sealed class Lane(int batch, int context, GenerationEngine engine, Device device) : IDisposable
    {
        public int Batch { get; } = batch;
        public int Context { get; } = context;
        public GenerationEngine Engine { get; } = engine;
        public StageTimes Times { get; } = new(device);
        /// <summary>Text answers (transcripts) instead of speech answers.</summary>
        public bool Text { get; init; }
        public List<double> StepSeconds { get; } = [];
        /// <summary>Per timed step: key/value positions attended over, summed over the rows.</summary>
        public List<long> AttendedPositions { get; } = [];

        public void Dispose() => Engine.Dispose();
    }
}

/// <summary>
/// Times the generation engine's steps (<see cref="GenerationEngine.Step"/>: embedding, forward over the KV slot pool,
/// both heads, sampling, per-row bookkeeping — what the scheduler runs in production) for each batch size and context,
/// one step of every lane per round, so every lane sees the same load of a shared machine.
/// </summary>
public sealed class DecodeBench(KimiaLlm llm, Options opts)
{
    private const int PrefillChunk = 512; // the scheduler's default PrefillChunkTokens
    private readonly KimiSpecialTokens special = new(llm.Config.NumBaseTokens);
    private readonly Random rng = new(7);
    private int seed;

    public static int ShortOf(int prompt) => Math.Max(8, prompt / 4);
    public static int LongOf(int prompt) => prompt * 2;

    public DecodeResult Run()
    {
        var c = llm.Config;
        int prompt = opts.Prompt;
        // (1, S) goes first and doubles as the warm-up of every kernel shape a lane meets
        var shapes = new List<(int Batch, int Context)> { (1, ShortOf(prompt)), (1, prompt), (1, LongOf(prompt)) };
        if (!opts.Quick) shapes.Add((8, prompt));
        shapes.Add((16, prompt));
        var lanes = new List<DecodeResult.Lane>();
        double prefill = double.NaN, rssPerSlot = double.NaN;
        var copies = new List<double>();
        using var copy = new Machine.CopyProbe(llm.Device);
        try
        {
            foreach (var (batch, context) in shapes)
            {
                double rssBefore = Machine.RssMb();
                var engine = new GenerationEngine(llm, special, batch, c.MaxPositionEmbeddings, PrefillChunk);
                var lane = new DecodeResult.Lane(batch, context, engine, llm.Device);
                lanes.Add(lane);
                var sw = Stopwatch.StartNew();
                Fill(lane);
                if (batch == 1 && context == prompt) prefill = context / sw.Elapsed.TotalSeconds;
                // past the audio delay: from here on both streams are sampled, as in a speech answer
                for (int i = 0; i < c.AudioDelayTokens; i++) engine.Step();
                if (batch == 16) rssPerSlot = (Machine.RssMb() - rssBefore) / 16;
            }
            var textLane = new DecodeResult.Lane(16, prompt, new GenerationEngine(llm, special, 16, c.MaxPositionEmbeddings, PrefillChunk), llm.Device)
            {
                Text = true,
            };
            Fill(textLane);
            lanes.Add(textLane);
            for (int round = 0; round < opts.Steps; round++)
            {
                copies.Add(copy.GBps());
                foreach (var lane in lanes)
                {
                    Fill(lane);
                    long attended = lane.Engine.Rows.Sum(r => (long)r.PromptLength + r.Steps);
                    llm.Profiler = lane.Times;
                    var sw = Stopwatch.StartNew();
                    lane.Engine.Step();
                    lane.StepSeconds.Add(sw.Elapsed.TotalSeconds);
                    llm.Profiler = null;
                    lane.AttendedPositions.Add(attended);
                }
            }
            var result = new DecodeResult
            {
                Context = prompt,
                TextLane = textLane,
                ShortContext = ShortOf(prompt),
                LongContext = LongOf(prompt),
                PrefillTokensPerSecond = prefill,
                UncachedTokensPerSecond = opts.Quick ? double.NaN : UncachedDecodeTokensPerSecond(),
                WeightBytesPerStep = WeightBytesPerStep(),
                EmbeddingRowBytes = 2L * c.HiddenSize * SlotKvCache.ElementSize(llm.DType),
                KvBytesPerPosition = SlotKvCache.BytesPerPosition(c, llm.DType),
                RssMbPerSlot = rssPerSlot,
                CopyGBps = copies.Order().ElementAt(copies.Count / 2),
            };
            foreach (var lane in lanes.Where(l => !l.Text)) result.Lanes[(lane.Batch, lane.Context)] = lane;
            return result;
        }
        finally
        {
            llm.Profiler = null;
            foreach (var lane in lanes) lane.Dispose();
        }
    }

    /// <summary>Tops the lane up to its batch (a random model may stop a row), then steps untimed until no row is prefilling.</summary>
    private void Fill(DecodeResult.Lane lane)
    {
        var e = lane.Engine;
        if (e.ActiveRows == lane.Batch && e.Rows.All(r => !r.Prefilling)) return;
        while (e.ActiveRows < lane.Batch) e.Admit(Request(lane.Context, lane.Text));
        while (e.Rows.Any(r => r.Prefilling)) e.Step();
    }

    private GenerationRequest Request(int length, bool textAnswer)
    {
        var c = llm.Config;
        var audio = new long[length];
        var text = new long[length];
        for (int i = 0; i < length; i++)
        {
            audio[i] = rng.NextInt64(c.TokenOffset, c.VocabSize);
            text[i] = rng.NextInt64(0, special.NumBaseTokens);
        }
        var prompt = new KimiPrompt { AudioIds = audio, TextIds = text, ContinuousMask = new bool[length], Segments = [] };
        // a speech answer with the recommended sampling (greedy text, top-k audio), long enough for every timed step
        int bound = llm.Config.AudioDelayTokens + 4 * opts.Steps + 16;
        // or a transcript: greedy text only, the audio branch skipped
        if (textAnswer) return new GenerationRequest(prompt, KimiOutputType.Text, SamplingOptions.Greedy, bound);
        return new GenerationRequest(prompt, KimiOutputType.Both, SamplingOptions.Recommended with { Seed = (ulong)++seed }, bound);
    }

    private long WeightBytesPerStep()
    {
        long bytes = 0;
        foreach (var (name, p) in llm.named_parameters())
        {
            // the embedding table is gathered (counted per row), the adaptor runs only in prefills
            if (name.StartsWith("model.embed_tokens.", StringComparison.Ordinal) || name.StartsWith("model.vq_adaptor.", StringComparison.Ordinal)) continue;
            bytes += p.NumberOfElements * p.ElementSize;
        }
        return bytes;
    }

    /// <summary>Each new token recomputes the whole sequence (no cache): what decoding costs without it.</summary>
    private double UncachedDecodeTokensPerSecond()
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var c = llm.Config;
        int n = 3, prompt = opts.Prompt;
        var audio = randint(c.TokenOffset, c.VocabSize, [1, prompt + n]).to(llm.Device);
        var text = randint(0, c.TokenOffset, [1, prompt + n]).to(llm.Device);
        var times = new List<double>();
        for (int i = 0; i < n; i++)
        {
            using var step = NewDisposeScope();
            int len = prompt + i + 1;
            var pos = arange(0, len, dtype: ScalarType.Int64, device: llm.Device).unsqueeze(0);
            var sw = Stopwatch.StartNew();
            llm.Forward(llm.Embed(audio[.., ..len], text[.., ..len], null), pos, null, null).Text.argmax(-1).cpu();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return 1 / times.Order().ElementAt(n / 2);
    }
}
