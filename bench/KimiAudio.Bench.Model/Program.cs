using System.Globalization;
using KimiAudio.Bench.Model;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

// LLM cost on random checkpoints with the real layout (tiny, mid-size, mid-size with the real 168,448-id vocabulary),
// float32 and bfloat16, through the generation engine production runs (GenerationEngine over the KV slot pool):
// prefill tokens/s, batch-1 decode (one definition: the median engine step at the prompt's context, used by every
// column that shows it), batch 8 / 16 decode, where a step's time goes (attention, MLPs, the two heads, sampling),
// and a roofline: bytes of weights + KV cache read per step ÷ step time, next to the machine's measured copy bandwidth.
// usage: dotnet run -c Release --project bench/KimiAudio.Bench.Model [-- --quick] [--configs tiny,mid,mid-real-vocab]
//        [--dtypes float32,bfloat16] [--device cpu] [--steps 16] [--prompt 128] [--threads N]

var threadSetting = KimiAudio.Model.NativeThreads.Prepare(); // before the first torch call
var opts = Options.Parse(args);
var device = new Device(opts.Device);
if (opts.Threads > 0) set_num_threads(opts.Threads);
Console.WriteLine($"device {opts.Device}, torch threads {get_num_threads()}, prompt {opts.Prompt} tokens, {opts.Steps} timed decode steps per batch size{(opts.Quick ? " (quick)" : "")}");
Console.WriteLine($"load at start: {Machine.LoadAverage()}; native threads: {threadSetting}");
var bandwidth = Machine.MeasureBandwidth(device);
Console.WriteLine($"memory bandwidth ({get_num_threads()} threads, {bandwidth.Megabytes} MB buffers): copy {bandwidth.CopyGBps:F1} GB/s (bytes read + written), read {bandwidth.ReadGBps:F1} GB/s");

var speed = new List<string[]>();
var cost = new List<string[]>();
var sizing = new List<string[]>();
var folders = new List<string>();
try
{
    foreach (var name in opts.Configs)
    {
        foreach (var dtypeName in opts.DTypes)
        {
            var dtype = dtypeName.StartsWith("bf", StringComparison.Ordinal) ? ScalarType.BFloat16 : ScalarType.Float32;
            using var llm = BenchConfigs.Load(name, device, dtype, folders);
            var r = new DecodeBench(llm, opts).Run();
            double b1 = r.StepMs(1, r.Context), b16 = r.StepMs(16, r.Context);
            double tok1 = 1000 / b1;
            speed.Add([
                name, dtypeName, F(r.PrefillTokensPerSecond), F(tok1),
                $"{r.StepMs(1, r.ShortContext):F1}/{b1:F1}/{r.StepMs(1, r.LongContext):F1}",
                double.IsNaN(r.UncachedTokensPerSecond) ? "-" : F(r.UncachedTokensPerSecond),
                r.Has(8, r.Context) ? F(8000 / r.StepMs(8, r.Context)) : "-", F(16000 / b16), $"{16000 / b16 / tok1:F1}x",
                F(16000 / r.TextStepMs),
                $"{b1 / 80:F3}", $"{Machine.PeakRssMb():F0}",
            ]);
            foreach (int batch in new[] { 1, 16 })
            {
                var s = r.Shares(batch, r.Context);
                double step = r.StepMs(batch, r.Context);
                double bytes = r.BytesPerStep(batch, r.Context);
                double gbps = bytes / (step / 1000) / 1e9;
                cost.Add([
                    name, dtypeName, $"{batch}", $"{step:F1}", P(s.Attention), P(s.Mlp), P(s.TextHead), P(s.AudioHead), P(s.Sampling), P(s.Other),
                    $"{bytes / 1e6:F0}", $"{gbps:F1}", $"{r.CopyGBps:F1}", $"{100 * gbps / r.CopyGBps:F0}%",
                ]);
            }
            sizing.Add([
                name, dtypeName, $"{r.WeightBytesPerStep / 1e6:F0}", $"{r.KvBytesPerPosition / 1024.0:F1}",
                $"{r.KvBytesPerPosition * 1500 / 1e6:F1}", r.RssMbPerSlot > 0.05 ? $"{r.RssMbPerSlot:F1}" : "reused",
            ]);
            Console.WriteLine($"done {name} {dtypeName} (load {Machine.LoadAverage()})");
        }
    }
}
finally
{
    foreach (var f in folders) Directory.Delete(f, recursive: true);
}

Console.WriteLine();
Table.Print(["config", "dtype", "prefill tok/s", "decode tok/s b1", "b1 step ms ctx S/M/L", "no-cache tok/s b1", "decode tok/s b8", "decode tok/s b16", "b16/b1", "b16 text tok/s", "RTF b1", "peak RSS MB"], speed);
Console.WriteLine($"b1 = one row decoding at context M = {opts.Prompt} (prompt) + the steps; decode tok/s b1 = 1000 / (b1 step ms at M), the one batch-1 figure every column uses;");
Console.WriteLine($"S/L = contexts {DecodeBench.ShortOf(opts.Prompt)} and {DecodeBench.LongOf(opts.Prompt)} (flat = the cache works). RTF b1 = b1 step / 80 ms (a speech token's duration). b16/b1 = (b16 tok/s) / (b1 tok/s), same rounds.");
Console.WriteLine("b1, b8, b16: speech answers (both streams sampled, both heads); b16 text = 16 greedy transcripts, whose steps skip the MIMO layers and the audio head.");
Console.WriteLine();
Table.Print(["config", "dtype", "batch", "step ms", "attention", "MLPs", "text head", "audio head", "sampling", "other", "MB read/step", "GB/s", "copy GB/s", "of copy BW"], cost);
Console.WriteLine("shares of the timed steps at context M (profiler spans summed over them ÷ their total time); other = embedding, rotary tables, masks, slot bookkeeping.");
Console.WriteLine("MB read/step = weights read by a decode step (every layer, both norms and heads, the gathered embedding rows) + the KV cache it attends over; GB/s = that ÷ step time;");
Console.WriteLine("copy GB/s = a 256 MB copy timed once per round between the steps (bytes read + written), so both see the same load; of copy BW = GB/s ÷ copy GB/s.");
Console.WriteLine();
Table.Print(["config", "dtype", "weights MB/step", "KV KB/token", "KV MB/slot @1500", "RSS MB/slot (b16)"], sizing);
Console.WriteLine("KV KB/token = keys + values of every layer (trunk + MIMO) for one position; @1500 = the reference bound of an output_type both sequence;");
Console.WriteLine("RSS MB/slot = resident memory the 16-row engine added (prefill + decode, KV and activations) ÷ 16; reused = it fitted in memory an earlier run freed.");
Console.WriteLine($"load at end: {Machine.LoadAverage()} (a busy machine gives floors)");

static string F(double x) => x.ToString(x >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);
static string P(double share) => $"{100 * share:F0}%";
