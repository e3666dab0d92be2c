using System.Diagnostics;
using KimiAudio.Audio;

namespace KimiAudio.Bench.Throughput;

/// <summary>One file of the bench corpus: 16 kHz mono speech of a fixed length and what is asked of it.</summary>
public sealed record CorpusFile(int Index, string Name, float[] Samples, bool Chat, int MaxTokens)
{
    public double Seconds => (double)Samples.Length / AudioDecoder.ModelSampleRate;
    public string Task => Chat ? "chat" : "asr";
}

/// <summary>
/// The fixed corpus: espeak-ng sentences joined (with short pauses) to lengths cycling through <see cref="Lengths"/>,
/// every fifth file of at most 20 s a <c>chat</c> request (spoken reply). A random checkpoint never chooses to stop, so
/// each file's answer length is fixed by its audio length (an ASR transcript's rate, <see cref="TokensPerSecond"/>
/// tokens per audio second of each ≤ 30 s segment, as <c>maxTokens</c>): rows of different lengths, as real output has.
/// </summary>
public static class Corpus
{
    public static readonly double[] Lengths = [1, 45, 3, 12, 60, 2, 20, 5, 30, 8];
    public const double TokensPerSecond = 2.5;
    public const double SegmentSeconds = 30;

    private static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Please call Stella and ask her to bring these things with her from the store.",
        "It is a beautiful morning and the birds are singing.",
        "The meeting has been moved to Thursday at three o'clock.",
        "Turn left at the second traffic light and keep going straight.",
        "Our train leaves the station in twenty minutes.",
        "Machine learning models need a lot of data to train well.",
        "Could you repeat the last sentence a little more slowly?",
        "The weather forecast says it will rain tomorrow afternoon.",
        "A journey of a thousand miles begins with a single step.",
        "The children played football in the park until sunset.",
        "Speech recognition turns spoken words into written text.",
    ];

    /// <summary>Answer budget of one segment of <paramref name="seconds"/> seconds.</summary>
    public static int MaxTokensFor(double seconds) => (int)Math.Round(TokensPerSecond * Math.Min(seconds, SegmentSeconds)) + 4;

    public static async Task<IReadOnlyList<CorpusFile>> BuildAsync(int count)
    {
        var sentences = new List<float[]>();
        foreach (var text in Sentences) sentences.Add(await SpeakAsync(text));
        var pause = new float[AudioDecoder.ModelSampleRate * 3 / 10];
        var files = new List<CorpusFile>();
        for (int i = 0; i < count; i++)
        {
            double seconds = Lengths[i % Lengths.Length];
            int n = (int)(seconds * AudioDecoder.ModelSampleRate);
            var samples = new float[n];
            int at = 0;
            for (int s = i; at < n; s++)
            {
                var piece = sentences[s % sentences.Count];
                int take = Math.Min(piece.Length, n - at);
                Array.Copy(piece, 0, samples, at, take);
                at += take + pause.Length;
            }
            bool chat = i % 5 == 4 && seconds <= 20;
            files.Add(new CorpusFile(i, $"{i:D4}-{seconds:F0}s.wav", samples, chat, MaxTokensFor(seconds)));
        }
        return files;
    }

    /// <summary>The ≤ 30 s segments of a file, as the worker's fixed segmentation cuts them.</summary>
    public static IReadOnlyList<float[]> Segments(CorpusFile file)
    {
        int max = (int)(SegmentSeconds * AudioDecoder.ModelSampleRate);
        var list = new List<float[]>();
        for (int start = 0; start < file.Samples.Length; start += max)
            list.Add(file.Samples[start..Math.Min(file.Samples.Length, start + max)]);
        return list;
    }

    private static async Task<float[]> SpeakAsync(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kimia-throughput-{Environment.ProcessId}-{Guid.NewGuid():N}.wav");
        try
        {
            var psi = new ProcessStartInfo("espeak-ng") { UseShellExecute = false, RedirectStandardError = true };
            foreach (var a in new[] { "-v", "en-us", "-s", "150", "-w", path, text }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("espeak-ng did not start");
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException($"espeak-ng failed: {await p.StandardError.ReadToEndAsync()}");
            var decoded = await AudioDecoder.DecodeAsync(await File.ReadAllBytesAsync(path), path, new AudioDecodeLimits(), CancellationToken.None);
            return decoded.Samples;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("espeak-ng is not installed: run infra/services.sh install", e);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
