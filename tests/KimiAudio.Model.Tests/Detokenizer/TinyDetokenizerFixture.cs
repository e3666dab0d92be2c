using KimiAudio.Model.Detokenizer;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Detokenizer;

/// <summary>A random tiny detokenizer + vocoder written once per test class through the real file layout.</summary>
public sealed class TinyDetokenizerFixture : IDisposable
{
    public string Folder { get; }

    public TinyDetokenizerFixture()
    {
        Folder = Directory.CreateTempSubdirectory("tiny-detok-").FullName;
        TinyDetokenizerCheckpoint.Write(Folder, seed: 11);
    }

    public SpeechDetokenizer Load(DetokenizerOptions? options = null) =>
        SpeechDetokenizer.Load(Path.Combine(Folder, KimiAudioLayout.DetokenizerFolder),
            Path.Combine(Folder, KimiAudioLayout.VocoderFolder), CPU, ScalarType.Float32, options);

    public static long[] RandomIds(int n, int seed, int vocab = 64)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (long)rng.Next(vocab)).ToArray();
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Collects the chunk schedule of a run.</summary>
public sealed class ScheduleTrace : IDetokenizerTrace
{
    public List<ChunkSchedule> Chunks { get; } = [];
    public void OnChunk(ChunkSchedule schedule) => Chunks.Add(schedule);
    public void OnTensor(string name, Tensor value) { }
}
