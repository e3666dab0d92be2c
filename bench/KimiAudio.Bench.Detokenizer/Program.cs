using System.Diagnostics;
using System.Globalization;
using KimiAudio.Model.Detokenizer;
using static TorchSharp.torch;
using KimiAudio.Model;
using KimiAudio.Model.TinyCheckpoints;

// Detokenizer benchmark on CPU: real-time factor (seconds of speech per second), time to first piece, peak memory,
// batch 1 vs batch 4, for the tiny random config and a mid-size random config. Each case runs in a child process so
// that its peak RSS is its own.
//   dotnet run -c Release --project bench/KimiAudio.Bench.Detokenizer [-- --tokens 150 --threads 2]
// Child mode (internal): case <tiny|mid> <checkpoint folder> <batch> <tokens> <dtype> <threads>

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "case")
{
    RunCase(args[1], args[2], int.Parse(args[3], inv), int.Parse(args[4], inv), args[5], int.Parse(args[6], inv));
    return 0;
}

int tokens = Arg("--tokens", 150);
int threads = Arg("--threads", Environment.ProcessorCount);
var cases = new List<(string Config, int Batch, string DType)>
{
    ("tiny", 1, "f32"), ("tiny", 4, "f32"), ("mid", 1, "f32"), ("mid", 4, "f32"), ("mid", 1, "bf16"),
};
Console.WriteLine($"# detokenizer CPU benchmark: {tokens} tokens per job ({tokens * 0.08:F1} s of speech), {threads} torch threads, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at start");
Console.WriteLine("| config | dtype | batch | speech s (all jobs) | wall s | RTF (speech s / s) | first piece s | DiT s | vocoder s | peak RSS MiB |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
// checkpoints are written here, so a child's peak RSS is loading + running only
var folders = new Dictionary<string, string>();
foreach (var config in cases.Select(c => c.Config).Distinct())
{
    folders[config] = Directory.CreateTempSubdirectory("bench-detok-").FullName;
    TinyDetokenizerCheckpoint.Write(folders[config], seed: 1, Spec(config));
}
foreach (var (config, batch, dtype) in cases)
{
    var psi = new ProcessStartInfo(Environment.ProcessPath!)
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Program).Assembly.Location);
    foreach (var a in new[] { "case", config, folders[config], batch.ToString(inv), tokens.ToString(inv), dtype, threads.ToString(inv) }) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEnd();
    var stderr = p.StandardError.ReadToEnd();
    p.WaitForExit();
    var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("| ", StringComparison.Ordinal));
    Console.WriteLine(line ?? $"| {config} | {dtype} | {batch} | failed: {stderr.Split('\n').FirstOrDefault(l => l.Contains("Exception", StringComparison.Ordinal))} |");
}
foreach (var f in folders.Values) Directory.Delete(f, recursive: true);
return 0;

static TinyDetokenizerSpec Spec(string config) => config == "mid" ? TinyDetokenizerSpec.MidSize : new TinyDetokenizerSpec();

int Arg(string name, int dflt)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], inv) : dflt;
}

static void RunCase(string config, string folder, int batch, int tokens, string dtypeName, int threads)
{
    set_num_threads(threads);
    var spec = Spec(config);
    {
        var dtype = dtypeName == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        using var detok = SpeechDetokenizer.Load(Path.Combine(folder, KimiAudioLayout.DetokenizerFolder),
            Path.Combine(folder, KimiAudioLayout.VocoderFolder), CPU, dtype);
        var rng = new Random(5);
        var jobs = Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<long>)Enumerable.Range(0, tokens).Select(_ => (long)rng.Next(spec.SemanticVocabSize)).ToArray()).ToList();

        // warm-up: one short job (first-call costs of libtorch kernels)
        using (var warm = new SeededNoiseSource(0)) detok.Detokenize(jobs[0].Take(8).ToArray(), warm);

        var noises = jobs.Select((_, i) => new SeededNoiseSource(i)).ToList();
        var sw = Stopwatch.StartNew();
        var stages = new StageTimer(sw);
        double firstPiece;
        long samples = 0;
        if (batch == 1)
        {
            firstPiece = double.NaN;
            using var stream = detok.Open(jobs[0], noises[0], stages);
            while (!stream.Done)
            {
                stages.StepStarted();
                var piece = detok.Step([stream])[0];
                if (double.IsNaN(firstPiece)) firstPiece = sw.Elapsed.TotalSeconds;
                samples += piece.Length;
            }
        }
        else
        {
            // batched streams: time to the first piece of every job is the first Step
            var streams = jobs.Select((ids, i) => detok.Open(ids, noises[i], i == 0 ? stages : null)).ToList();
            firstPiece = double.NaN;
            while (streams.Any(s => !s.Done))
            {
                stages.StepStarted();
                var pieces = detok.Step(streams.Where(s => !s.Done).ToList());
                if (double.IsNaN(firstPiece)) firstPiece = sw.Elapsed.TotalSeconds;
                samples += pieces.Sum(p => (long)p.Length);
            }
            foreach (var s in streams) s.Dispose();
        }
        double wall = sw.Elapsed.TotalSeconds;
        foreach (var n in noises) n.Dispose();
        double speech = samples / (double)detok.SampleRate;
        long peak = PeakRssKiB() / 1024;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {config} (H={spec.HiddenSize}, depth={spec.Depth}, voc C0={spec.UpsampleInitialChannel}) | {dtypeName} | {batch} | {speech:F2} | {wall:F2} | {speech / wall:F3} | {firstPiece:F2} | {stages.DiT:F2} | {stages.Vocoder:F2} | {peak} |"));
    }
}

static long PeakRssKiB()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    return -1;
}

/// <summary>Splits each step's time into DiT (step start → vocoder input) and vocoder (input → output), from trace callbacks.</summary>
sealed class StageTimer(Stopwatch clock) : IDetokenizerTrace
{
    private double stepStart, vocStart;
    public double DiT { get; private set; }
    public double Vocoder { get; private set; }

    public void StepStarted() => stepStart = clock.Elapsed.TotalSeconds;

    public void OnChunk(ChunkSchedule schedule) { }

    public void OnTensor(string name, Tensor value)
    {
        double now = clock.Elapsed.TotalSeconds;
        if (name.StartsWith("voc_in_", StringComparison.Ordinal))
        {
            DiT += now - stepStart;
            vocStart = now;
        }
        else if (name.StartsWith("voc_out_", StringComparison.Ordinal)) Vocoder += now - vocStart;
    }
}
