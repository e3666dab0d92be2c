using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

/// <summary>Shared inputs for the LLM tests: the tiny-a fixture checkpoint and seeded pre-encoded audio.</summary>
internal static class TestData
{
    public static string TinyA => Fixtures.Path("tiny-a");

    public static KimiTextTokenizer TinyATokenizer { get; } = KimiTextTokenizer.Load(Fixtures.Path("tiny-a"));

    public static KimiAudioConfig TinyAConfig { get; } = KimiAudioConfig.Load(Fixtures.Path("tiny-a", "config.json"));

    /// <summary>n random semantic ids in the config's codebook and matching random stacked features.</summary>
    public static EncodedAudio Audio(KimiAudioConfig config, int n, int seed, bool features = true)
    {
        var rng = new Random(seed);
        int codebook = config.VocabSize - config.TokenOffset;
        var ids = Enumerable.Range(0, n).Select(_ => (long)rng.Next(codebook)).ToArray();
        Tensor? f = null;
        if (features)
        {
            var g = new Generator((ulong)seed, CPU);
            f = randn([n, config.AdaptorInputDim], generator: g).DetachFromDisposeScope();
        }
        return new EncodedAudio(ids, f);
    }

}

/// <summary>A temporary folder deleted when disposed.</summary>
internal sealed class TempDir(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // still mapped by a finalizer-owned handle: leave it to the OS temp cleanup
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
