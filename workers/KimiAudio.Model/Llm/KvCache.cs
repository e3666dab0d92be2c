using static TorchSharp.torch;

namespace KimiAudio.Model.Llm;

/// <summary>What an attention layer needs from a cache during one forward call.</summary>
public interface IKvCache
{
    /// <summary>Stores this call's keys/values [B, kv_heads, Lq, head_dim] of <paramref name="layer"/> and returns the keys/values to attend over.</summary>
    (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v);

    /// <summary>Called once per forward, after every layer appended <paramref name="n"/> positions.</summary>
    void Advance(long n);
}

/// <summary>
/// Key/value cache for every layer (trunk then MIMO): [B, kv_heads, capacity, head_dim] per layer, keys stored after
/// RoPE. All rows share the slot index (prompts are left-padded), so one append writes one column. The buffers start
/// at the initial capacity and double when full (up to the maximum), so a long loop bound costs memory only if used.
/// </summary>
public sealed class KvCache : IKvCache, IDisposable
{
    private Tensor[] keys;
    private Tensor[] values;

    public long Capacity { get; private set; }
    public long MaxCapacity { get; }
    public long Length { get; private set; }
    public long Batch => keys[0].shape[0];

    public KvCache(int layers, long batch, int kvHeads, int headDim, long capacity, ScalarType dtype, Device device, long? maxCapacity = null)
    {
        Capacity = capacity;
        MaxCapacity = Math.Max(capacity, maxCapacity ?? capacity);
        keys = new Tensor[layers];
        values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            keys[i] = zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
            values[i] = zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Writes this call's keys/values at the current length and returns views over everything cached so far.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long n = k.shape[2];
        if (Length + n > Capacity) Grow(Length + n);
        keys[layer].narrow(2, Length, n).copy_(k);
        values[layer].narrow(2, Length, n).copy_(v);
        return (keys[layer].narrow(2, 0, Length + n), values[layer].narrow(2, 0, Length + n));
    }

    private void Grow(long needed)
    {
        if (needed > MaxCapacity)
            throw new InvalidOperationException($"KV cache full: {needed} positions needed, at most {MaxCapacity}");
        long capacity = Math.Min(MaxCapacity, Math.Max(needed, Capacity * 2));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Extend(keys[i], capacity);
            values[i] = Extend(values[i], capacity);
        }
        Capacity = capacity;
    }

    private Tensor Extend(Tensor old, long capacity)
    {
        var shape = old.shape;
        shape[2] = capacity;
        var t = zeros(shape, dtype: old.dtype, device: old.device).DetachFromDisposeScope();
        t.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
        old.Dispose();
        return t;
    }

    /// <summary>Called once per forward, after every layer appended.</summary>
    public void Advance(long n) => Length += n;

    /// <summary>Keeps only the given batch rows (used when rows finish, so later steps compute nothing for them).</summary>
    public void KeepRows(Tensor rowIndex)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            var k = keys[i].index_select(0, rowIndex).DetachFromDisposeScope();
            var v = values[i].index_select(0, rowIndex).DetachFromDisposeScope();
            keys[i].Dispose();
            values[i].Dispose();
            keys[i] = k;
            values[i] = v;
        }
    }

    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
        keys = [];
        values = [];
    }
}
