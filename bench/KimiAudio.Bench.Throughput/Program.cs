using System.Globalization;
using KimiAudio.Bench.Throughput;
using KimiAudio.Model;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

// End-to-end throughput of Kimi-Audio on a random checkpoint with the official layout: the bench model's mid-size LLM
// (hidden 1024, 8 + 2 layers) behind the tiny Whisper / GLM tokenizer / detokenizer. A fixed espeak-ng corpus of mixed
// lengths (1–60 s, a chat share answered in speech) runs through the engine three ways (sequential batch 1, static
// micro-batches, continuous slots), then through the pipeline (RabbitMQ + PostgreSQL + S3) with the same engine.
// usage: dotnet run -c Release --project bench/KimiAudio.Bench.Throughput [-- --files 40 --slots 16
//        --dtypes float32,bfloat16 --modes sequential,static,continuous --no-pipeline --threads N --device cpu]
var threadSetting = NativeThreads.Prepare(); // before the first torch call
var opts = Options.Parse(args);
if (opts.Threads > 0) set_num_threads(opts.Threads);
Console.WriteLine($"uptime at start: {Uptime()}; native threads: {threadSetting}");
Console.WriteLine($"device {opts.Device}, torch threads {get_num_threads()}, {opts.Files} files, {opts.Slots} slots");

var corpus = await Corpus.BuildAsync(opts.Files);
Console.WriteLine($"corpus: {corpus.Count} files, {corpus.Sum(f => f.Seconds):F0} s of audio, {corpus.Count(f => f.Chat)} chat, " +
                  $"{corpus.Sum(f => Corpus.Segments(f).Count)} segments of ≤ {Corpus.SegmentSeconds:F0} s");

var folder = Directory.CreateTempSubdirectory("kimia-throughput-").FullName;
var rows = new List<(RunFigures Figures, string Same)>();
var ratios = new List<string>();
try
{
    TinyKimiAudioCheckpoint.Write(folder, seed: 5, TinyLlmSizes.MidSize, codebook: TinyLlmSizes.MidSize.Codebook);
    foreach (var dtype in opts.DTypes)
    {
        var byMode = new Dictionary<string, RunFigures>();
        IReadOnlyList<long[]>? reference = null;
        Dictionary<int, long[]>? asrText = null;
        using (var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = folder, Device = opts.Device, DType = dtype, MaxBatchSize = opts.Slots }))
        {
            var engine = new EngineModes(model, corpus, opts.Slots);
            foreach (var mode in opts.Modes)
            {
                var f = mode switch
                {
                    "sequential" => engine.Sequential(dtype),
                    "static" => engine.Static(dtype),
                    "continuous" => engine.Continuous(dtype),
                    _ => throw new ArgumentException($"unknown mode '{mode}' (sequential, static, continuous)"),
                };
                byMode[mode] = f;
                // every mode must compute what the first one did (exactness under batching)
                reference ??= engine.LastIds;
                int differ = engine.LastIds.Where((ids, i) => !ids.SequenceEqual(reference[i])).Count();
                rows.Add((f, differ == 0 ? "yes" : $"NO ({differ} segments differ)"));
                Console.WriteLine($"done {f.Mode} {dtype}: {f.WallSeconds:F1} s");
                if (mode == opts.Modes[0]) asrText = AsrTextIds(corpus, engine.LastIds);
            }
        }
        if (byMode.TryGetValue("continuous", out var c) && byMode.TryGetValue("static", out var s))
            ratios.Add($"{dtype}: continuous / static RTFx = {c.Rtfx / s.Rtfx:F2}x");
        if (byMode.TryGetValue("static", out s) && byMode.TryGetValue("sequential", out var q))
            ratios.Add($"{dtype}: static / sequential RTFx = {s.Rtfx / q.Rtfx:F2}x");
        if (opts.Pipeline)
        {
            var (p, text) = await PipelineLevel.RunAsync(corpus, folder, dtype, opts.Slots);
            int differ = asrText is null ? 0 : asrText.Count(kv => !text[kv.Key].SequenceEqual(kv.Value));
            rows.Add((p, asrText is null ? "-" : differ == 0 ? "yes (asr text)" : $"NO ({differ} files differ)"));
            Console.WriteLine($"done {p.Mode} {dtype}: {p.WallSeconds:F1} s");
            if (byMode.TryGetValue("continuous", out c)) ratios.Add($"{dtype}: pipeline / engine-only (continuous) RTFx = {p.Rtfx / c.Rtfx:P0}");
        }
    }
}
finally
{
    Directory.Delete(folder, recursive: true);
}

string[] header = ["level / mode", "dtype", "audio s", "wall s", "RTFx", "gen tok/s", "p50 file s", "p95 file s", "first result s", "peak RSS MB", "same ids as first mode"];
var table = rows.Select(r => new[]
{
    r.Figures.Mode, r.Figures.DType, F(r.Figures.AudioSeconds), F(r.Figures.WallSeconds), $"{r.Figures.Rtfx:F2}", F(r.Figures.TokensPerSecond),
    F(r.Figures.Percentile(0.5)), F(r.Figures.Percentile(0.95)), F(r.Figures.FirstResult), F(r.Figures.PeakRssMb), r.Same,
}).ToList();
Console.WriteLine();
Print(header, table);
foreach (var line in ratios) Console.WriteLine(line);
Console.WriteLine();
// where each engine run's wall time went (the model's own stage clocks, reset per run)
var stageRows = rows.Where(r => r.Figures.StageSeconds.Length > 0).Select(r =>
{
    var st = r.Figures.StageSeconds;
    return new[] { r.Figures.Mode, r.Figures.DType, F(r.Figures.WallSeconds) }
        .Concat(st.Select(x => $"{F(x)} ({100 * x / r.Figures.WallSeconds:F0}%)"))
        .Append(F(r.Figures.WallSeconds - st.Sum())).ToArray();
}).ToList();
Print(["engine mode", "dtype", "wall s", "front-end s", "prefill s", "decode s", "speech s", "rest s"], stageRows);
Console.WriteLine("front-end = mel + Whisper + GLM tokens + prompt build; prefill / decode = the LLM forwards with their sampling; speech = detokenizer");
Console.WriteLine("+ vocoder (in continuous mode on its own thread, so it overlaps the others); rest = wall − the stages (queueing, glue, overlap < 0).");
Console.WriteLine("RTFx = audio seconds / wall seconds; gen tok/s = (text ids + speech ids kept as output) / wall seconds; file times run from the start");
Console.WriteLine("(every file queued at once) to the file's last segment; pipeline: from the first POST /batches to its last terminal job row.");
Console.WriteLine($"uptime at end: {Uptime()}");

static Dictionary<int, long[]> AsrTextIds(IReadOnlyList<CorpusFile> corpus, IReadOnlyList<long[]> segmentIds)
{
    var result = new Dictionary<int, long[]>();
    int k = 0;
    foreach (var f in corpus)
    {
        var ids = new List<long>();
        foreach (var _ in Corpus.Segments(f)) ids.AddRange(segmentIds[k++]);
        if (!f.Chat) result[f.Index] = [.. ids];
    }
    return result;
}

static string F(double x) => x.ToString(x >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);

static string Uptime()
{
    try { return File.ReadAllText("/proc/loadavg").Trim() + " (1/5/15-min load averages, running/total tasks)"; }
    catch (IOException) { return "unknown"; }
}

static void Print(string[] header, List<string[]> rows)
{
    var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
    string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadLeft(widths[i]))) + " |";
    Console.WriteLine(Line(header));
    Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
    foreach (var r in rows) Console.WriteLine(Line(r));
}

sealed record Options(int Files, int Slots, string[] DTypes, string[] Modes, bool Pipeline, int Threads, string Device)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string dflt)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
        }
        var o = new Options(
            int.Parse(Get("--files", "40"), CultureInfo.InvariantCulture),
            int.Parse(Get("--slots", "16"), CultureInfo.InvariantCulture),
            Get("--dtypes", "float32,bfloat16").Split(','),
            Get("--modes", "sequential,static,continuous").Split(','),
            !args.Contains("--no-pipeline"),
            int.Parse(Get("--threads", "0"), CultureInfo.InvariantCulture),
            Get("--device", "cpu"));
        if (o.Files < 1) throw new ArgumentException("--files must be at least 1");
        if (o.Slots < 1) throw new ArgumentException("--slots must be at least 1");
        return o;
    }
}
