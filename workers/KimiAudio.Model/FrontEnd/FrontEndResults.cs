using static TorchSharp.torch;

namespace KimiAudio.Model.FrontEnd;

/// <summary>
/// Continuous features of several audios, padded into one tensor: <see cref="Features"/> [B, N_max, 4·d_whisper],
/// <see cref="Mask"/> [B, N_max] (bool, true at real rows), <see cref="Lengths"/> the real row counts.
/// Row i of <see cref="Features"/> equals <see cref="AudioFrontEnd.ContinuousFeatures"/> of audio i alone.
/// </summary>
public sealed record FeatureBatch(Tensor Features, Tensor Mask, int[] Lengths) : IDisposable
{
    /// <summary>Audio <paramref name="i"/>'s features [n_i, 4·d] (a view into <see cref="Features"/>).</summary>
    public Tensor Row(int i) => Features[i].narrow(0, 0, Lengths[i]);

    public void Dispose()
    {
        Features.Dispose();
        Mask.Dispose();
    }
}

/// <summary>
/// Discrete tokens of several audios, padded: <see cref="Ids"/> [B, N_max] int64 (raw codebook ids, −1 at padding),
/// <see cref="Mask"/> [B, N_max] bool, <see cref="Lengths"/>, all on the CPU. Row i equals <see cref="AudioFrontEnd.Tokenize"/> of audio i alone.
/// </summary>
public sealed record TokenBatch(Tensor Ids, Tensor Mask, int[] Lengths) : IDisposable
{
    /// <summary>Audio <paramref name="i"/>'s raw ids.</summary>
    public long[] Row(int i) => Ids[i].narrow(0, 0, Lengths[i]).cpu().data<long>().ToArray();

    public void Dispose()
    {
        Ids.Dispose();
        Mask.Dispose();
    }
}

/// <summary>
/// The GLM feature extractor's output for one reference batch of segments (all segments of one audio, at most 128):
/// <see cref="Features"/> [S, n_mels, F] float32, <see cref="FrameMask"/> [S, F] int64 (1 at frames of real samples),
/// <see cref="SegmentLengths"/> real samples per segment.
/// </summary>
public sealed record GlmFeatureGroup(Tensor Features, Tensor FrameMask, int[] SegmentLengths) : IDisposable
{
    public void Dispose()
    {
        Features.Dispose();
        FrameMask.Dispose();
    }
}

/// <summary>The tokenizer's view of one audio: quantizer-input states of the valid tokens [n, d_glm] (float32) and the raw ids.</summary>
public sealed record GlmEncoding(Tensor Pooled, long[] Ids) : IDisposable
{
    public void Dispose() => Pooled.Dispose();
}
