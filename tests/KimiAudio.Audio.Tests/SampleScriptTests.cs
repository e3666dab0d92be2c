namespace KimiAudio.Audio.Tests;

/// <summary>infra/make-samples.sh: every clip it makes must decode to plausible speech.</summary>
public sealed class SampleScriptTests
{
    [Fact]
    public async Task All_generated_samples_decode_to_speech()
    {
        using var dir = new TempDir();
        ExternalTools.Run("bash", Path.Combine(ExternalTools.RepoRoot(), "infra", "make-samples.sh"), dir.Path);

        var rows = File.ReadAllLines(dir.File("samples.tsv")).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.Equal(24, rows.Count);
        Assert.Equal(24, rows.Select(r => r[2]).Distinct().Count());
        var formats = new HashSet<string>();
        foreach (var row in rows)
        {
            var decoded = await AudioDecoder.DecodeAsync(File.ReadAllBytes(dir.File(row[0])), row[0], new AudioDecodeLimits(), CancellationToken.None);
            formats.Add(decoded.SourceFormat);
            Assert.InRange(decoded.DurationSeconds, 1.0, 10.0);
            Assert.InRange(Signals.Rms(decoded.Samples), 0.01, 0.7);
            if (row[0].EndsWith("mp3-named.wav", StringComparison.Ordinal))
            {
                Assert.Equal("mp3", decoded.SourceFormat);
            }
        }
        Assert.Superset(new HashSet<string> { "wav/pcm8", "wav/pcm16", "wav/pcm24", "wav/pcm32", "wav/float32", "wav/float64", "mp3", "flac", "ogg/vorbis" }, formats);
    }
}
