namespace KimiAudio.Model.Generation;

/// <summary>
/// Sampling of one stream. Temperature ≤ 1e-6 means greedy (argmax, first index on ties). The repetition penalty
/// applies only when penalty &gt; 1 and the stream history is longer than <see cref="RepetitionWindow"/>.
/// </summary>
public sealed record StreamSampling(double Temperature, int TopK, double RepetitionPenalty, int RepetitionWindow)
{
    public bool IsGreedy => Temperature <= 1e-6;

    public void Validate(string stream)
    {
        if (double.IsNaN(Temperature) || Temperature < 0) throw new ArgumentException($"{stream} temperature must be >= 0");
        if (TopK < 0) throw new ArgumentException($"{stream} top_k must be >= 0");
        if (double.IsNaN(RepetitionPenalty) || RepetitionPenalty <= 0) throw new ArgumentException($"{stream} repetition penalty must be > 0");
        if (RepetitionWindow < 0) throw new ArgumentException($"{stream} repetition window must be >= 0");
    }
}

/// <summary>Sampling for both streams plus the seed that makes sampled runs repeatable.</summary>
public sealed record SamplingOptions
{
    /// <summary>The reference <c>generate()</c> defaults: greedy text (top-k 5, window 16), greedy audio (top-k 5, window 64).</summary>
    public StreamSampling Text { get; init; } = new(0.0, 5, 1.0, 16);
    public StreamSampling Audio { get; init; } = new(0.0, 5, 1.0, 64);
    public ulong Seed { get; init; }

    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Settings of the reference README / infer.py: audio temperature 0.8, top-k 10; text greedy.</summary>
    public static SamplingOptions Recommended { get; } = new() { Audio = new StreamSampling(0.8, 10, 1.0, 64) };

    public void Validate()
    {
        Text.Validate("text");
        Audio.Validate("audio");
    }
}
