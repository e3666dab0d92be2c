using static TorchSharp.torch;

namespace KimiAudio.Model.Llm;

/// <summary>
/// The KV cache of continuous batching: a pool of slots, one sequence per slot, every layer (trunk then MIMO) holding
/// [slots, kv_heads, positions, head_dim] (keys after RoPE). Each slot's sequence starts at position 0 of its slot and
/// has its own length; a forward attends over the first <c>T</c> positions of a contiguous range of slots with a mask
/// that hides, per row, the positions it has not written (so the stale contents of a slot never matter).
/// </summary>
/// <remarks>
/// Why a preallocated slot pool and not paged blocks: there is no paged-attention kernel in TorchSharp (CPU or CUDA), so
/// paged blocks would have to be gathered into a dense [B, kv_heads, T, head_dim] tensor on every step and layer, which
/// costs as much memory traffic as the attention itself. With slots, the rows of a forward are kept in a contiguous
/// slot range (the scheduler moves a slot when a row leaves), and the attention reads a plain view of the pool, no
/// copy. The price is that every slot can hold the longest sequence admitted (capacity per slot, from the checkpoint's
/// max_position_embeddings and an optional byte budget over all slots); memory is allocated on demand (slots and
/// positions double as they are first used) up to that capacity, so short loops cost little.
/// </remarks>
public sealed class SlotKvCache : IDisposable
{
    private Tensor[] keys;
    private Tensor[] values;
    private readonly int kvHeads;
    private readonly int headDim;
    private readonly ScalarType dtype;
    private readonly Device device;

    /// <summary>Most slots (sequences) the pool holds.</summary>
    public int Slots { get; }
    /// <summary>Most positions (prompt + generated tokens) one slot holds.</summary>
    public long SlotCapacity { get; }
    public int AllocatedSlots { get; private set; }
    public long AllocatedPositions { get; private set; }
    public int Layers => keys.Length;

    public SlotKvCache(int layers, int slots, int kvHeads, int headDim, long slotCapacity, ScalarType dtype, Device device,
        int initialSlots = 1, long initialPositions = 128)
    {
        if (slots < 1) throw new ArgumentException("a slot pool needs at least one slot");
        if (slotCapacity < 1) throw new ArgumentException("slot capacity must be positive");
        Slots = slots;
        SlotCapacity = slotCapacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dtype = dtype;
        this.device = device;
        AllocatedSlots = Math.Clamp(initialSlots, 1, slots);
        AllocatedPositions = Math.Clamp(initialPositions, 1, slotCapacity);
        keys = new Tensor[layers];
        values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            keys[i] = zeros([AllocatedSlots, kvHeads, AllocatedPositions, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
            values[i] = zeros([AllocatedSlots, kvHeads, AllocatedPositions, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Bytes one position of one slot takes over all layers (keys and values).</summary>
    public static long BytesPerPosition(KimiAudioConfig c, ScalarType dtype) =>
        2L * (c.NumHiddenLayers + c.MimoLayers) * c.NumKeyValueHeads * c.HeadDim * ElementSize(dtype);

    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => 4,
        ScalarType.BFloat16 or ScalarType.Float16 => 2,
        ScalarType.Float64 => 8,
        _ => throw new ArgumentException($"unsupported cache dtype {dtype}"),
    };

    /// <summary>Makes sure slots [0, <paramref name="slots"/>) and positions [0, <paramref name="positions"/>) exist (contents kept).</summary>
    public void Reserve(int slots, long positions)
    {
        if (slots > Slots) throw new InvalidOperationException($"slot pool has {Slots} slots, {slots} needed");
        if (positions > SlotCapacity)
            throw new InvalidOperationException($"a KV slot holds {SlotCapacity} positions, {positions} needed");
        if (slots <= AllocatedSlots && positions <= AllocatedPositions) return;
        int newSlots = slots <= AllocatedSlots ? AllocatedSlots : Math.Min(Slots, Math.Max(slots, AllocatedSlots * 2));
        long newPositions = positions <= AllocatedPositions ? AllocatedPositions : Math.Min(SlotCapacity, Math.Max(positions, AllocatedPositions * 2));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Extend(keys[i], newSlots, newPositions);
            values[i] = Extend(values[i], newSlots, newPositions);
        }
        AllocatedSlots = newSlots;
        AllocatedPositions = newPositions;
    }

    private Tensor Extend(Tensor old, int slots, long positions)
    {
        using var scope = NewDisposeScope();
        var t = zeros([slots, kvHeads, positions, headDim], dtype: dtype, device: device);
        t.narrow(0, 0, AllocatedSlots).narrow(2, 0, AllocatedPositions).copy_(old);
        old.Dispose();
        return t.DetachFromDisposeScope();
    }

    /// <summary>
    /// A cache for one forward over slots [<paramref name="firstSlot"/>, +<paramref name="count"/>): each layer writes
    /// its keys/values at (<paramref name="writeSlots"/>, <paramref name="writeColumns"/>) (broadcast over the
    /// [B, Lq] queries, or, with <paramref name="writeSelect"/>, over the selected flat query indices only) and
    /// attends over the first <paramref name="attendColumns"/> positions of those slots.
    /// </summary>
    public IKvCache Rows(int firstSlot, int count, Tensor writeSlots, Tensor writeColumns, long attendColumns, Tensor? writeSelect = null)
    {
        if (firstSlot + count > AllocatedSlots || attendColumns > AllocatedPositions)
            throw new InvalidOperationException("reserve the slots and positions of a forward first");
        return new View(this, firstSlot, count, writeSlots, writeColumns, attendColumns, writeSelect);
    }

    /// <summary>Copies the first <paramref name="columns"/> positions of slot From into slot To, for every pair (sources read before any write).</summary>
    public void Move(IReadOnlyList<(int From, int To)> moves, long columns)
    {
        if (moves.Count == 0 || columns <= 0) return;
        // the pool grows inside a step's inference mode, and tensors made there may only be updated in place in it
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var from = tensor(moves.Select(m => (long)m.From).ToArray(), device: device);
        var to = tensor(moves.Select(m => (long)m.To).ToArray(), device: device);
        columns = Math.Min(columns, AllocatedPositions);
        for (int i = 0; i < keys.Length; i++)
        {
            foreach (var t in new[] { keys[i], values[i] })
            {
                var region = t.narrow(2, 0, columns);
                var gathered = region.index_select(0, from);
                region.index_copy_(0, to, gathered);
            }
        }
    }

    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
        keys = [];
        values = [];
    }

    private sealed class View(SlotKvCache pool, int first, int count, Tensor slots, Tensor columns, long attend, Tensor? select) : IKvCache
    {
        public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
        {
            Write(pool.keys[layer], k);
            Write(pool.values[layer], v);
            return (pool.keys[layer].narrow(0, first, count).narrow(2, 0, attend), pool.values[layer].narrow(0, first, count).narrow(2, 0, attend));
        }

        private void Write(Tensor target, Tensor x)
        {
            // [B, kv_heads, Lq, head_dim] → [B, Lq, kv_heads, head_dim]: the layout of pool[slots, :, columns] with the
            // two advanced indices in front
            var rows = x.permute(0, 2, 1, 3);
            if (select is not null) rows = rows.reshape(-1, x.shape[1], x.shape[3]).index_select(0, select);
            target.index_put_(rows, TensorIndex.Tensor(slots), TensorIndex.Colon, TensorIndex.Tensor(columns));
        }

        public void Advance(long n)
        {
            // lengths are per slot and kept by the caller (a prefill chunk advances each row by its own count)
        }
    }
}
