using System.Diagnostics;
using System.Globalization;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

// LLM throughput on random checkpoints with the real layout (tiny and mid-size), float32 and bfloat16:
// prefill tokens/s, decode tokens/s with and without the KV cache, cached step time at two context lengths,
// batch 1 / 8 / 16 decode throughput, real-time factor for speech output (12.5 tokens/s), peak RSS.
// usage: dotnet run -c Release --project bench/KimiAudio.Bench.Model [-- --configs tiny,mid --dtypes float32,bfloat16 --device cpu --steps 32 --prompt 256 --threads N]

var opts = Options.Parse(args);
var device = new Device(opts.Device);
if (opts.Threads > 0) set_num_threads(opts.Threads);
Console.WriteLine($"device {opts.Device}, torch threads {get_num_threads()}, prompt {opts.Prompt} tokens, {opts.Steps} decode steps");
var rows = new List<string[]>();
var folders = new List<string>();
try
{
foreach (var name in opts.Configs)
{
    var sizes = name == "mid" ? TinyLlmSizes.MidSize : new TinyLlmSizes();
    var folder = Path.Combine(Path.GetTempPath(), $"kimi-bench-{name}-{Environment.ProcessId}");
    TinyLlmCheckpoint.Write(folder, 1, sizes);
    folders.Add(folder);
    foreach (var dtypeName in opts.DTypes)
    {
        var dtype = dtypeName.StartsWith("bf", StringComparison.Ordinal) ? ScalarType.BFloat16 : ScalarType.Float32;
        using var llm = KimiaLlm.Load(folder, device, dtype);
        var b = new Bench(llm, opts.Prompt, opts.Steps);
        double prefill = b.PrefillTokensPerSecond();
        var (_, stepShort, stepLong) = b.CachedDecode(1);
        double uncached = b.UncachedDecodeTokensPerSecond();
        // batch sizes are timed step by step in turn, so each sees the same load on a shared machine
        var tps = b.InterleavedDecode([1, 8, 16]);
        double cached = tps[0], b8 = tps[1], b16 = tps[2];
        rows.Add([
            name, dtypeName, F(prefill), F(cached), F(uncached), $"{stepShort:F1}/{stepLong:F1}",
            F(b8), F(b16), $"{b16 / cached:F1}x", $"{12.5 / cached:F3}", $"{PeakRssMb():F0}",
        ]);
        Console.WriteLine($"done {name} {dtypeName}");
    }
}
}
finally
{
    foreach (var f in folders) Directory.Delete(f, recursive: true);
}
Print(["config", "dtype", "prefill tok/s", "decode tok/s b1", "no-cache tok/s b1", "step ms ctx S/L", "decode tok/s b8", "decode tok/s b16", "b16/b1", "RTF b1", "peak RSS MB"], rows);
Console.WriteLine($"step ms ctx S/L: cached one-token step at context {opts.Prompt / 4} and {opts.Prompt * 2} (flat = cache works). RTF: decode time per speech token / 80 ms.");

static string F(double x) => x.ToString(x >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);

static double PeakRssMb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    return double.NaN;
}

static void Print(string[] header, List<string[]> rows)
{
    var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
    string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadLeft(widths[i]))) + " |";
    Console.WriteLine(Line(header));
    Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
    foreach (var r in rows) Console.WriteLine(Line(r));
}

sealed class Bench(KimiaLlm llm, int prompt, int steps)
{
    private readonly Generator rng = new(7, CPU);

    private (Tensor Audio, Tensor Text) Ids(int batch, int length)
    {
        var c = llm.Config;
        var audio = randint(c.TokenOffset, c.VocabSize, [batch, length], generator: rng).to(llm.Device);
        var text = randint(0, c.TokenOffset, [batch, length], generator: rng).to(llm.Device);
        return (audio, text);
    }

    private static Tensor Positions(int batch, int from, int count, Device d) =>
        arange(from, from + count, dtype: ScalarType.Int64, device: d).unsqueeze(0).expand(batch, count).contiguous();

    // the machine is shared: every figure is the median of several timed runs, after a warm-up
    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }

    private static double Time(Action a, int repeats)
    {
        a();
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return Median(times);
    }

    public double PrefillTokensPerSecond()
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var (a, t) = Ids(1, prompt);
        var pos = Positions(1, 0, prompt, llm.Device);
        double s = Time(() =>
        {
            using var inner = NewDisposeScope();
            using var cache = llm.NewCache(1, prompt);
            llm.Forward(llm.Embed(a, t, null), pos, null, cache).Text.cpu();
        }, 5);
        return prompt / s;
    }

    /// <summary>Prefill <c>prompt</c> tokens for <paramref name="batch"/> rows, then time <c>steps</c> one-token steps.</summary>
    public (double TokensPerSecond, double StepMsShort, double StepMsLong) CachedDecode(int batch)
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        double Run(int context, int n)
        {
            using var inner = NewDisposeScope();
            var (a, t) = Ids(batch, context);
            using var cache = llm.NewCache(batch, context + n + 1);
            llm.Forward(llm.Embed(a, t, null), Positions(batch, 0, context, llm.Device), null, cache).Text.cpu();
            var (sa, st) = Ids(batch, 1);
            var embeds = llm.Embed(sa, st, null);
            // one warm-up step
            llm.Forward(embeds, Positions(batch, context, 1, llm.Device), null, cache).Text.argmax(-1).cpu();
            var times = new List<double>();
            for (int i = 0; i < n; i++)
            {
                using var step = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                var logits = llm.Forward(embeds, Positions(batch, context + 1 + i, 1, llm.Device), null, cache);
                logits.Text.argmax(-1).cpu();
                logits.Audio.argmax(-1).cpu();
                times.Add(sw.Elapsed.TotalSeconds);
            }
            return Median(times);
        }
        double perStep = Run(prompt, Math.Max(4, steps / 4));
        double shortCtx = batch == 1 ? Run(Math.Max(8, prompt / 4), Math.Max(4, steps / 4)) * 1000 : double.NaN;
        double longCtx = batch == 1 ? Run(prompt * 2, Math.Max(4, steps / 4)) * 1000 : double.NaN;
        return (batch / perStep, shortCtx, longCtx);
    }

    /// <summary>Decode tokens/s per batch size; one step of each batch size per round, medians over rounds.</summary>
    public double[] InterleavedDecode(int[] batches)
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var caches = new List<KvCache>();
        var embeds = new List<Tensor>();
        try
        {
            foreach (var batch in batches)
            {
                var (a, t) = Ids(batch, prompt);
                var cache = llm.NewCache(batch, prompt + steps + 2);
                caches.Add(cache);
                llm.Forward(llm.Embed(a, t, null), Positions(batch, 0, prompt, llm.Device), null, cache).Text.cpu();
                var (sa, st) = Ids(batch, 1);
                embeds.Add(llm.Embed(sa, st, null));
            }
            var times = batches.Select(_ => new List<double>()).ToArray();
            for (int i = 0; i <= steps; i++)
            {
                for (int j = 0; j < batches.Length; j++)
                {
                    using var step = NewDisposeScope();
                    var sw = Stopwatch.StartNew();
                    var logits = llm.Forward(embeds[j], Positions(batches[j], prompt + i, 1, llm.Device), null, caches[j]);
                    logits.Text.argmax(-1).cpu();
                    logits.Audio.argmax(-1).cpu();
                    if (i > 0) times[j].Add(sw.Elapsed.TotalSeconds); // step 0 is the warm-up
                }
            }
            return batches.Select((bs, j) => bs / Median(times[j])).ToArray();
        }
        finally
        {
            foreach (var c in caches) c.Dispose();
        }
    }

    /// <summary>Each new token recomputes the whole sequence (no cache): what decoding costs without it.</summary>
    public double UncachedDecodeTokensPerSecond()
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        int n = Math.Max(3, steps / 8);
        var (a, t) = Ids(1, prompt + n);
        var times = new List<double>();
        for (int i = 0; i < n; i++)
        {
            using var step = NewDisposeScope();
            int len = prompt + i + 1;
            var sw = Stopwatch.StartNew();
            llm.Forward(llm.Embed(a[.., ..len], t[.., ..len], null), Positions(1, 0, len, llm.Device), null, null).Text.argmax(-1).cpu();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return 1 / Median(times);
    }
}

sealed record Options(string[] Configs, string[] DTypes, string Device, int Steps, int Prompt, int Threads)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string dflt)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
        }
        return new Options(
            Get("--configs", "tiny,mid").Split(','),
            Get("--dtypes", "float32,bfloat16").Split(','),
            Get("--device", "cpu"),
            int.Parse(Get("--steps", "32"), CultureInfo.InvariantCulture),
            int.Parse(Get("--prompt", "256"), CultureInfo.InvariantCulture),
            int.Parse(Get("--threads", "0"), CultureInfo.InvariantCulture));
    }
}
