// Front-end benchmark: time per 30 s segment of the audio front-end (log-mel, Whisper path, GLM tokenizer) on random
// checkpoints written on the fly, in float32 and bfloat16. Usage: dotnet run -c Release -- [seconds of audio] [repeats] [cpu|cuda]
using System.Diagnostics;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.GlmTokenizer;
using KimiAudio.Model.Whisper;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

int seconds = args.Length > 0 ? int.Parse(args[0]) : 120;
int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
var device = args.Length > 2 ? new Device(args[2]) : CPU;
var audio = Signal(seconds * AudioSegmentation.SampleRate);
int segments = AudioSegmentation.Split(audio.Length).Count;

var configs = new (string Name, int D, int Layers, int Heads, int Ffn)[]
{
    ("tiny (tiny-a sizes)", 64, 2, 4, 128),
    ("mid (d 512, 6 layers)", 512, 6, 8, 2048),
};

Console.WriteLine($"audio {seconds} s = {segments} segments of 30 s, device {device.type}, threads {get_num_threads()}, best of {repeats}");
Console.WriteLine($"| config | dtype | log-mel ms/seg | Whisper features ms/seg | GLM tokens ms/seg | front-end total ms/seg | RTF |");
Console.WriteLine($"|---|---|---|---|---|---|---|");
foreach (var c in configs)
{
    var root = Directory.CreateTempSubdirectory("fe-bench-").FullName;
    try
    {
        var whisper = Path.Combine(root, "whisper");
        var glm = Path.Combine(root, "glm");
        TinyWhisperCheckpoint.Write(whisper, 1, c.D, c.Layers, c.Heads, c.Ffn);
        TinyGlmTokenizerCheckpoint.Write(glm, 1, c.D, c.Heads, c.Ffn, quantizePosition: c.Layers, poolingPosition: c.Layers, codebookSize: 1024);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var fe = AudioFrontEnd.Load(whisper, glm, device, dtype);
            double mel = Best(() => fe.WhisperLogMel(audio).Dispose());
            double whisperMs = Best(() => fe.ContinuousFeatures(audio).Dispose());
            double glmMs = Best(() => fe.Tokenize(audio));
            double total = (whisperMs + glmMs) / segments;
            Console.WriteLine($"| {c.Name} | {dtype} | {mel / segments:F1} | {whisperMs / segments:F1} | {glmMs / segments:F1} | {total:F1} | {total / 30000:F4} |");
        }
    }
    finally
    {
        Directory.Delete(root, recursive: true);
    }
}
return 0;

double Best(Action run)
{
    run();   // warm-up
    double best = double.MaxValue;
    for (int i = 0; i < repeats; i++)
    {
        var sw = Stopwatch.StartNew();
        run();
        best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
    }
    return best;
}

static float[] Signal(int n)
{
    var rng = new Random(1);
    var x = new float[n];
    for (int i = 0; i < n; i++)
    {
        double t = i / 16000.0;
        x[i] = (float)(0.3 * Math.Sin(2 * Math.PI * (180 + 60 * Math.Sin(2 * Math.PI * 0.5 * t)) * t) + 0.02 * (rng.NextDouble() * 2 - 1));
    }
    return x;
}
