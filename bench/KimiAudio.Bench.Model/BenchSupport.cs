using System.Diagnostics;
using System.Globalization;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Text;
using KimiAudio.Model.TinyCheckpoints;
using static TorchSharp.torch;

namespace KimiAudio.Bench.Model;

public sealed record Options(string[] Configs, string[] DTypes, string Device, int Steps, int Prompt, int Threads, bool Quick)
{
    public static Options Parse(string[] args)
    {
        bool quick = args.Contains("--quick");
        string Get(string name, string dflt)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt;
        }
        int Int(string name, int dflt) => int.Parse(Get(name, dflt.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var configs = Get("--configs", quick ? "mid-real-vocab" : "tiny,mid,mid-real-vocab").Split(',');
        foreach (var c in configs)
            if (!BenchConfigs.Names.Contains(c)) throw new ArgumentException($"--configs: unknown config '{c}' (known: {string.Join(", ", BenchConfigs.Names)})");
        return new Options(configs, Get("--dtypes", "float32,bfloat16").Split(','), Get("--device", "cpu"),
            Int("--steps", quick ? 6 : 16), Int("--prompt", quick ? 64 : 128), Int("--threads", 0), quick);
    }
}

/// <summary>The benchmarked models: random weights in the official layout.</summary>
public static class BenchConfigs
{
    public static readonly string[] Names = ["tiny", "mid", "mid-real-vocab"];

    /// <summary>The official checkpoint's vocabulary: 151,643 BPE ranks + 421 special tokens = 152,064 text ids, then 16,384 audio ids.</summary>
    public const int RealBaseTokens = 151643;
    public const int RealCodebook = 16384;

    /// <summary>
    /// tiny / mid: a checkpoint folder written by <see cref="TinyLlmCheckpoint"/> and loaded as production loads one.
    /// mid-real-vocab: the mid config with the vocabulary and special-token layout of the official config.json
    /// (vocab_size 168,448, kimia_token_offset 152,064, media ids 151,661 / 151,663, …), built in memory with seeded random
    /// weights: a 1.4 GB (bf16) to 2.9 GB (fp32) checkpoint would cost more to write and read than the bench runs.
    /// </summary>
    public static KimiaLlm Load(string name, Device device, ScalarType dtype, List<string> folders)
    {
        var sizes = name == "tiny" ? new TinyLlmSizes() : TinyLlmSizes.MidSize;
        var folder = Path.Combine(Path.GetTempPath(), $"kimi-bench-{(name == "tiny" ? "tiny" : "mid")}-{Environment.ProcessId}");
        if (!folders.Contains(folder))
        {
            TinyLlmCheckpoint.Write(folder, 1, sizes);
            folders.Add(folder);
        }
        if (name != "mid-real-vocab") return KimiaLlm.Load(folder, device, dtype);
        var config = RealVocab(KimiAudioConfig.Load(Path.Combine(folder, "config.json")));
        manual_seed(1);
        var llm = new KimiaLlm(config, device, dtype);
        llm.eval();
        return llm;
    }

    public static KimiAudioConfig RealVocab(KimiAudioConfig mid)
    {
        var sp = new KimiSpecialTokens(RealBaseTokens);
        var c = mid with
        {
            NumBaseTokens = RealBaseTokens,
            VocabSize = sp.End + RealCodebook,
            TokenOffset = sp.End,
            TextOutputVocab = sp.End,
            AudioOutputVocab = RealCodebook + 512,
            MediaBegin = sp.MediaBegin,
            MediaEnd = sp.MediaEnd,
            PadTokenId = sp.Pad,
            BosTokenId = sp.Bos,
            EosTokenId = sp.Eos,
        };
        c.Validate("mid-real-vocab");
        if (c.VocabSize != 168448 || c.TokenOffset != 152064 || c.MediaBegin != 151661 || c.MediaEnd != 151663)
            throw new InvalidOperationException("mid-real-vocab does not match the official vocabulary layout");
        return c;
    }
}

public static class Machine
{
    public sealed record Bandwidth(int Megabytes, double CopyGBps, double ReadGBps);

    /// <summary>
    /// Copy of a buffer far larger than the caches (bytes read + written per second) and a sum over it (bytes read per
    /// second), with the torch threads the model uses; medians of 5 after a warm-up.
    /// </summary>
    public static Bandwidth MeasureBandwidth(Device device, int megabytes = 256)
    {
        using var scope = NewDisposeScope();
        long n = megabytes * (1L << 20) / 4;
        var src = ones(n, dtype: ScalarType.Float32, device: device);
        var dst = empty_like(src);
        double bytes = n * 4.0;
        double copy = Median(() => { dst.copy_(src); Sync(device); });
        double read = Median(() => src.sum().cpu());
        return new Bandwidth(megabytes, 2 * bytes / copy / 1e9, bytes / read / 1e9);
    }

    /// <summary>One timed copy of a 256 MB buffer per call (bytes read + written per second, GB/s), to interleave with model steps.</summary>
    public sealed class CopyProbe(Device device) : IDisposable
    {
        private readonly Tensor src = ones(64L << 20, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        private readonly Tensor dst = empty(64L << 20, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();

        public double GBps()
        {
            var sw = Stopwatch.StartNew();
            dst.copy_(src);
            Sync(device);
            return 2.0 * src.NumberOfElements * 4 / sw.Elapsed.TotalSeconds / 1e9;
        }

        public void Dispose()
        {
            src.Dispose();
            dst.Dispose();
        }
    }

    private static void Sync(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }

    private static double Median(Action a)
    {
        a();
        var times = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return times.Order().ElementAt(2);
    }

    public static double PeakRssMb() => StatusMb("VmHWM:");

    public static double RssMb() => StatusMb("VmRSS:");

    private static double StatusMb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) + $" on {Environment.ProcessorCount} cores" : "unknown";
}

public static class Table
{
    public static void Print(string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadLeft(widths[i]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var r in rows) Console.WriteLine(Line(r));
    }
}
