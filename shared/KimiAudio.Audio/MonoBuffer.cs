namespace KimiAudio.Audio;

/// <summary>
/// Growing mono sample buffer that refuses to hold more than the duration limit allows, so memory follows the samples actually
/// decoded (never a header's claim) and over-long input stops early.
/// </summary>
internal sealed class MonoBuffer
{
    private readonly long _maxFrames;
    private readonly double _maxSeconds;
    private float[] _samples;

    public MonoBuffer(int sampleRate, double maxSeconds, int initialCapacity = 1 << 16)
    {
        _maxSeconds = maxSeconds;
        _maxFrames = MaxFrames(sampleRate, maxSeconds);
        _samples = new float[(int)Math.Clamp(initialCapacity, 16, Math.Max(16, _maxFrames))];
    }

    public int Count { get; private set; }

    /// <summary>A span of <paramref name="frames"/> free samples at the end; call <see cref="Advance"/> with the number written.</summary>
    public Span<float> GetAppendSpan(int frames)
    {
        ThrowIfOverLimit(Count + (long)frames);
        if (Count + frames > _samples.Length)
        {
            long grown = Math.Max(Count + (long)frames, Math.Min((long)_samples.Length * 2, _maxFrames));
            Array.Resize(ref _samples, (int)grown);
        }
        return _samples.AsSpan(Count, frames);
    }

    public void Advance(int frames) => Count += frames;

    public void ThrowIfOverLimit(long frames) => ThrowIfOverLimit(frames, _maxFrames, _maxSeconds);

    public static void ThrowIfOverLimit(long frames, int sampleRate, double maxSeconds) =>
        ThrowIfOverLimit(frames, MaxFrames(sampleRate, maxSeconds), maxSeconds);

    private static void ThrowIfOverLimit(long frames, long maxFrames, double maxSeconds)
    {
        if (frames > maxFrames)
        {
            throw new AudioDecodeException($"audio is longer than the limit of {maxSeconds:0.###} s");
        }
    }

    private static long MaxFrames(int sampleRate, double maxSeconds) => Math.Min((long)Math.Ceiling(maxSeconds * sampleRate), Array.MaxLength);

    public Span<float> Samples => _samples.AsSpan(0, Count);
}
