using KimiAudio.Model.FrontEnd;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

/// <summary>The front-end of the tiny-a fixture checkpoint, loaded once for a test class.</summary>
public sealed class TinyFrontEnd : IDisposable
{
    public AudioFrontEnd FrontEnd { get; } = AudioFrontEnd.Load(
        Fixtures.Path("tiny-a", "whisper-large-v3"), Fixtures.Path("tiny-a", "glm-4-voice-tokenizer"), CPU, ScalarType.Float32);

    public void Dispose() => FrontEnd.Dispose();

    /// <summary>Deterministic test signal: a few tones plus seeded noise, at <paramref name="amplitude"/>.</summary>
    public static float[] Signal(int samples, int seed, float amplitude = 0.3f)
    {
        var rng = new Random(seed);
        var x = new float[samples];
        for (int i = 0; i < samples; i++)
        {
            double t = i / 16000.0;
            double f = 150 + 40 * Math.Sin(2 * Math.PI * 0.7 * t) + 5 * (seed % 7);
            x[i] = amplitude * (float)(0.6 * Math.Sin(2 * Math.PI * f * t) + 0.3 * Math.Sin(2 * Math.PI * 3.1 * f * t)
                + 0.1 * (rng.NextDouble() * 2 - 1));
        }
        return x;
    }
}
