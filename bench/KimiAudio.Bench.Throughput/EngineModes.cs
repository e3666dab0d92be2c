using System.Diagnostics;
using KimiAudio.Model;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Prompting;

namespace KimiAudio.Bench.Throughput;

/// <summary>What one run of the corpus measured. Every file is queued at the start; a file's time is its last segment's completion.</summary>
/// <param name="Tokens">Generated tokens kept as output: text ids plus speech (semantic) ids, as the result rows store them.</param>
/// <param name="StageSeconds">Wall seconds per <see cref="ServingStage"/> (front-end, prefill, decode, speech) inside the engine; empty for the pipeline level.</param>
public sealed record RunFigures(string Mode, string DType, double AudioSeconds, double WallSeconds, long Tokens, double[] FileSeconds, double PeakRssMb,
    double[] StageSeconds)
{
    /// <summary>Audio seconds per wall second (real-time factor, inverse): the one throughput figure of every level.</summary>
    public double Rtfx => AudioSeconds / WallSeconds;
    public double TokensPerSecond => Tokens / WallSeconds;
    public double FirstResult => FileSeconds.Min();
    public double Percentile(double p)
    {
        var sorted = FileSeconds.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}

/// <summary>The engine without services: sequential batch 1, static micro-batches (today's worker), continuous slots.</summary>
public sealed class EngineModes(KimiAudioModel model, IReadOnlyList<CorpusFile> corpus, int slots)
{
    private readonly IReadOnlyList<(CorpusFile File, KimiAudioRequest Request)> segments =
        corpus.SelectMany(f => Corpus.Segments(f).Select(s => (f, Request(f, s)))).ToList();

    public double AudioSeconds => corpus.Sum(f => f.Seconds);

    /// <summary>Text and speech ids per segment of the last run, in corpus order (to check that every mode computes the same).</summary>
    public IReadOnlyList<long[]> LastIds { get; private set; } = [];

    public static KimiAudioRequest Request(CorpusFile file, float[] samples) => new()
    {
        Task = file.Chat ? KimiTask.Chat : KimiTask.Asr,
        Audios = [samples],
        Output = file.Chat ? KimiAudioOutput.Both : KimiAudioOutput.Text,
        // the worker's sampling: greedy text; chat speech sampled with the recommended settings and a fixed seed
        Sampling = file.Chat ? SamplingOptions.Recommended with { Seed = (ulong)file.Index + 1 } : SamplingOptions.Greedy,
        MaxNewTokens = file.MaxTokens,
    };

    /// <summary>One segment at a time, as the reference runs.</summary>
    public RunFigures Sequential(string dtype) => Timed("sequential b1", dtype, (clock, done) =>
    {
        for (int i = 0; i < segments.Count; i++)
            done(i, model.Generate([segments[i].Request], CancellationToken.None)[0], clock.Elapsed.TotalSeconds);
    });

    /// <summary>
    /// Today's worker: micro-batches of <c>slots</c> files in arrival order; each batch's segments run as one call (the
    /// model sorts them by prompt length and decodes them together until the longest row ends); the next batch waits.
    /// </summary>
    public RunFigures Static(string dtype) => Timed($"static {slots}", dtype, (clock, done) =>
    {
        foreach (var batch in corpus.Chunk(slots))
        {
            var members = Enumerable.Range(0, segments.Count).Where(i => batch.Contains(segments[i].File)).ToList();
            var outputs = model.Generate(members.Select(i => segments[i].Request).ToList(), CancellationToken.None);
            double at = clock.Elapsed.TotalSeconds;
            for (int j = 0; j < members.Count; j++) done(members[j], outputs[j], at);
        }
    });

    /// <summary>Every segment submitted at once to the continuous scheduler with <c>slots</c> slots.</summary>
    public RunFigures Continuous(string dtype) => Timed($"continuous {slots}", dtype, (clock, done) =>
    {
        using var scheduler = new KimiAudioScheduler(model, new KimiAudioSchedulerOptions { MaxBatchSize = slots });
        var tasks = Enumerable.Range(0, segments.Count).Select(async i =>
        {
            var result = await scheduler.SubmitAsync(segments[i].Request);
            lock (segments) done(i, result, clock.Elapsed.TotalSeconds);
        }).ToList();
        Task.WhenAll(tasks).GetAwaiter().GetResult();
    });

    private RunFigures Timed(string mode, string dtype, Action<Stopwatch, Action<int, KimiAudioResult, double>> run)
    {
        var results = new KimiAudioResult?[segments.Count];
        var doneAt = new double[segments.Count];
        Rss.ResetPeak();
        model.StageTimes.Reset();
        var clock = Stopwatch.StartNew();
        run(clock, (i, result, at) => { results[i] = result; doneAt[i] = at; });
        double wall = clock.Elapsed.TotalSeconds;
        for (int i = 0; i < segments.Count; i++)
        {
            var r = results[i] ?? throw new InvalidOperationException($"{mode}: segment {i} of {segments[i].File.Name} has no result");
            if (!r.Succeeded) throw new InvalidOperationException($"{mode}: {segments[i].File.Name} failed: {r.Error}");
        }
        LastIds = results.Select(r => r!.TextIds.Concat(r.SemanticIds).ToArray()).ToList();
        long tokens = results.Sum(r => (long)(r!.TextIds.Length + r.SemanticIds.Length));
        var perFile = Enumerable.Range(0, segments.Count).GroupBy(i => segments[i].File).Select(g => g.Max(i => doneAt[i])).ToArray();
        var stages = Enum.GetValues<ServingStage>().Select(model.StageTimes.Seconds).ToArray();
        return new RunFigures(mode, dtype, AudioSeconds, wall, tokens, perFile, Rss.PeakMb(), stages);
    }
}

/// <summary>Peak resident memory of this process (VmHWM), resettable between runs.</summary>
public static class Rss
{
    public static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public static double PeakMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
