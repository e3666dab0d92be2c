using KimiAudio.Audio;
using KimiAudio.Audio.Tests;

namespace KimiAudio.Vad.Tests;

/// <summary>
/// Speech whose pauses are known: espeak-ng sentences (installed by infra/services.sh install), each trimmed of its own
/// leading and trailing quiet, joined with digital silence of chosen lengths. 16 kHz mono.
/// </summary>
public sealed class SpokenCorpus
{
    public static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog",
        "Speech recognition turns spoken words into written text",
        "A long recording is cut into pieces at the pauses",
        "Every piece must fit inside the thirty second window of the model",
        "Nobody should hear a word split in half",
        "The weather today is cloudy with a chance of rain in the evening",
        "Please send the report to the whole team before Friday",
        "Seven hundred and forty two people attended the meeting",
        "She sells sea shells by the sea shore",
        "Data sets for speech research need careful cleaning",
        "The train to the city leaves from platform number nine",
        "Music and laughter filled the small room all night long",
    ];

    /// <summary>The recording.</summary>
    public required float[] Samples { get; init; }
    /// <summary>The inserted silences [Start, End) in samples; speech is everything else.</summary>
    public required IReadOnlyList<Pause> Silences { get; init; }
    /// <summary>The spoken stretches [Start, End) in samples, in order.</summary>
    public required IReadOnlyList<SampleRange> Words { get; init; }

    public double Seconds => Samples.Length / (double)SileroVad.SampleRate;

    private static readonly Dictionary<string, float[]> Cache = [];

    /// <summary>
    /// Sentences from <see cref="Sentences"/> (cycled) joined by silences drawn from <paramref name="silenceSeconds"/>
    /// (seeded), until at least <paramref name="totalSeconds"/> long; leading and trailing silence of <paramref name="edgeSeconds"/>.
    /// </summary>
    public static SpokenCorpus Build(double totalSeconds, double[] silenceSeconds, int seed = 1, double edgeSeconds = 0.5)
    {
        var random = new Random(seed);
        var samples = new List<float>();
        var silences = new List<Pause>();
        var words = new List<SampleRange>();
        AddSilence(samples, silences, edgeSeconds);
        for (var i = 0; samples.Count < totalSeconds * SileroVad.SampleRate; i++)
        {
            if (i > 0) AddSilence(samples, silences, silenceSeconds[random.Next(silenceSeconds.Length)]);
            var sentence = Speak(Sentences[i % Sentences.Length]);
            words.Add(new SampleRange(samples.Count, samples.Count + sentence.Length));
            samples.AddRange(sentence);
        }
        AddSilence(samples, silences, edgeSeconds);
        return new SpokenCorpus { Samples = [.. samples], Silences = silences, Words = words };
    }

    /// <summary>The inserted silence that strictly contains <paramref name="sample"/>, or null when it is in speech.</summary>
    public Pause? SilenceAt(int sample) => Silences.FirstOrDefault(s => s.Start < sample && sample < s.End) is { Length: > 0 } p ? p : null;

    private static void AddSilence(List<float> samples, List<Pause> silences, double seconds)
    {
        var n = (int)(seconds * SileroVad.SampleRate);
        silences.Add(new Pause(samples.Count, samples.Count + n));
        samples.AddRange(new float[n]);
    }

    /// <summary>One sentence by espeak-ng at 16 kHz, trimmed to its first and last sample above −46 dBFS.</summary>
    public static float[] Speak(string text)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(text, out var cached)) return cached;
            var wav = Path.Combine(Path.GetTempPath(), $"kimia-vad-{Environment.ProcessId}-{Guid.NewGuid():N}.wav");
            try
            {
                ExternalTools.Run("espeak-ng", "-v", "en-us", "-s", "165", "-w", wav, text);
                var decoded = AudioDecoder.DecodeAsync(File.ReadAllBytes(wav), wav, new AudioDecodeLimits(600, 1L << 30, SileroVad.SampleRate), CancellationToken.None)
                    .GetAwaiter().GetResult().Samples;
                int first = Array.FindIndex(decoded, s => Math.Abs(s) > 0.005f), last = Array.FindLastIndex(decoded, s => Math.Abs(s) > 0.005f);
                if (first < 0) throw new InvalidOperationException($"espeak-ng produced silence for '{text}'");
                return Cache[text] = decoded[first..(last + 1)];
            }
            finally
            {
                File.Delete(wav);
            }
        }
    }
}
