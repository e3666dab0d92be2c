using KimiAudio.Model.Detokenizer.FlowMatching;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer;

/// <summary>
/// The state of one job's token stream through the streaming detokenizer: DiT key/value cache and position,
/// the look-ahead carry, and the vocoder cross-fade history. Advanced chunk by chunk by <see cref="SpeechDetokenizer"/>.
/// </summary>
public sealed class DetokenizerStream : IDisposable
{
    internal DetokenizerStream(IReadOnlyList<long> ids, INoiseSource noise, IDetokenizerTrace? trace)
    {
        Ids = ids;
        Noise = noise;
        Trace = trace;
    }

    public IReadOnlyList<long> Ids { get; }
    internal INoiseSource Noise { get; }
    internal IDetokenizerTrace? Trace { get; }

    /// <summary>Index of the next chunk.</summary>
    public int Chunk { get; internal set; }
    /// <summary>Tokens consumed so far.</summary>
    public int Consumed { get; internal set; }
    public bool Done => Consumed >= Ids.Count;

    /// <summary>start_position_id: frames committed since the last reset.</summary>
    internal long Position { get; set; }
    /// <summary>Per-block cached K/V [1, frames, heads, head_dim], or null when empty.</summary>
    internal List<KvPair>? Cache { get; set; }
    internal long[]? Carry { get; set; }
    internal Tensor? PreMel { get; set; }
    internal Tensor? PreWav { get; set; }

    internal int CachedFrames => Cache is null ? 0 : (int)Cache[0].K.shape[1];

    internal void ClearCache()
    {
        if (Cache is not null)
            foreach (var kv in Cache)
            {
                kv.K.Dispose();
                kv.V.Dispose();
            }
        Cache = null;
    }

    internal void ReplacePreMel(Tensor? t)
    {
        PreMel?.Dispose();
        PreMel = t;
    }

    internal void ReplacePreWav(Tensor? t)
    {
        PreWav?.Dispose();
        PreWav = t;
    }

    public void Dispose()
    {
        ClearCache();
        ReplacePreMel(null);
        ReplacePreWav(null);
    }
}
