// VAD benchmark: real-time factor of Silero VAD (ONNX Runtime, one CPU thread) and of the whole pause segmentation on
// espeak-ng speech with known pauses, against the fixed 30 s split; and how many cuts land inside a pause.
// Usage: dotnet run -c Release -- [seconds of audio, default 60,600] [repeats, default 3]
using System.Diagnostics;
using System.Globalization;
using KimiAudio.Vad;
using KimiAudio.Vad.Tests;

var lengths = args.Length > 0 ? args[0].Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [60, 600];
var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var modelPath = VadModelLocator.Resolve();
using var vad = SileroVad.Open(modelPath);
var segmenter = new VadSegmenter(vad);
Console.WriteLine($"model {modelPath}; one intra-op thread; best of {repeats}; {Environment.ProcessorCount} cores; load: {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine("| audio s | mode | pieces | cuts in a pause | ms total | µs / 32 ms frame | RTFx (audio s / wall s) |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var seconds in lengths)
{
    var corpus = SpokenCorpus.Build(seconds, [0.3, 0.5, 0.8, 1.2, 2.0], seed: 10);
    var frames = SileroVad.FrameCount(corpus.Samples.Length);
    IReadOnlyList<SampleRange> pieces = [];
    var fixedMs = Best(() => pieces = PauseCutter.Fixed(corpus.Samples.Length, 30 * SileroVad.SampleRate));
    Row(corpus, "fixed 30 s", pieces, fixedMs, frames);
    var scoreMs = Best(() => vad.SpeechProbabilities(corpus.Samples));
    Console.WriteLine($"| {corpus.Seconds:F0} | Silero scoring only | – | – | {scoreMs:F0} | {scoreMs * 1000 / frames:F0} | {corpus.Seconds * 1000 / scoreMs:F0} |");
    var vadMs = Best(() => pieces = segmenter.Segment(corpus.Samples));
    Row(corpus, "VAD at pauses", pieces, vadMs, frames);
}
return 0;

void Row(SpokenCorpus corpus, string mode, IReadOnlyList<SampleRange> pieces, double ms, int frames)
{
    var cuts = pieces.Take(pieces.Count - 1).ToList();
    var inPause = cuts.Count(p => corpus.SilenceAt(p.End) is not null);
    var rtfx = ms >= 1 ? (corpus.Seconds * 1000 / ms).ToString("F0", CultureInfo.InvariantCulture) : "– (no model)";
    Console.WriteLine($"| {corpus.Seconds:F0} | {mode} | {pieces.Count} | {inPause} / {cuts.Count} | {ms:F1} | {ms * 1000 / frames:F1} | {rtfx} |");
}

double Best(Action run)
{
    run(); // warm-up
    var best = double.MaxValue;
    for (var i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        run();
        best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
    }
    return best;
}
