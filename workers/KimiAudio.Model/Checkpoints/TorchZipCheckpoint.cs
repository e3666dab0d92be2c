using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// A <c>torch.save</c> zip checkpoint opened lazily: only the zip central directory and <c>&lt;record&gt;/data.pkl</c>
/// are read at open; a tensor's storage record <c>&lt;record&gt;/data/&lt;key&gt;</c> is read only when that tensor is
/// asked for. A multi-gigabyte training checkpoint (weights plus optimizer moments) therefore costs only the tensors used.
/// </summary>
public sealed class TorchZipCheckpoint : IDisposable
{
    private readonly ZipArchive zip;
    private readonly string recordPrefix;

    public string Path { get; }

    /// <summary>The unpickled root object (usually a <see cref="PyDict"/>).</summary>
    public object? Root { get; }

    private TorchZipCheckpoint(string path, ZipArchive zip, string recordPrefix, object? root)
    {
        Path = path;
        this.zip = zip;
        this.recordPrefix = recordPrefix;
        Root = root;
    }

    public static TorchZipCheckpoint Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"checkpoint file not found: {path}");
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(File.OpenRead(path), ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"{path}: not a torch zip checkpoint ({e.Message}); the legacy non-zip torch format is not supported");
        }
        try
        {
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new CheckpointException($"{path}: zip has no <record>/data.pkl entry, so it is not a torch checkpoint");
            var prefix = pkl.FullName[..^"data.pkl".Length];
            byte[] bytes;
            using (var s = pkl.Open())
            {
                bytes = new byte[pkl.Length];
                s.ReadExactly(bytes);
            }
            var root = PickleReader.Load(bytes, path);
            return new TorchZipCheckpoint(path, zip, prefix, root);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Follows a path of string keys from the root, e.g. ["state_dict"] or ["generator"].</summary>
    public PyDict Dict(params string[] keys)
    {
        object? node = Root;
        var walked = "root";
        foreach (var k in keys)
        {
            if (node is not PyDict d || !d.TryGet(k, out node))
                throw new CheckpointException($"{Path}: {walked} has no entry '{k}'");
            walked += $"[\"{k}\"]";
        }
        return node as PyDict ?? throw new CheckpointException($"{Path}: {walked} is not a dict");
    }

    /// <summary>Reads one tensor: its storage record only, then the tensor's view of it, contiguous, on the CPU.</summary>
    public Tensor Read(PyTensorRef t)
    {
        var entryName = recordPrefix + "data/" + t.Storage.Key;
        var entry = zip.GetEntry(entryName) ?? throw new CheckpointException($"{Path}: storage record {entryName} is missing");
        long elemSize = ElementSize(t.Storage.DType);
        long needBytes = t.Storage.Numel * elemSize;
        if (entry.Length < needBytes)
            throw new CheckpointException($"{Path}: storage {entryName} holds {entry.Length} bytes, {t.Storage.Numel} elements need {needBytes}");
        long maxIndex = t.Offset + t.Shape.Zip(t.Stride, (n, s) => n == 0 ? 0 : (n - 1) * s).Sum();
        bool isEmpty = t.Shape.Any(n => n == 0);
        if (!isEmpty && (t.Offset < 0 || maxIndex >= t.Storage.Numel))
            throw new CheckpointException($"{Path}: tensor view [{string.Join(", ", t.Shape)}] at offset {t.Offset} reaches outside storage {t.Storage.Key} ({t.Storage.Numel} elements)");

        var storage = empty(t.Storage.Numel, t.Storage.DType, CPU);
        if (needBytes > 0)
        {
            using var s = entry.Open();
            ReadInto(s, storage, needBytes);
        }
        if (IsWholeContiguous(t))
            return storage.reshape(t.Shape);
        using (storage)
            return storage.as_strided(t.Shape, t.Stride, t.Offset).contiguous();
    }

    private static bool IsWholeContiguous(PyTensorRef t)
    {
        if (t.Offset != 0) return false;
        long expect = 1, numel = 1;
        for (int i = t.Shape.Length - 1; i >= 0; i--)
        {
            if (t.Shape[i] != 1 && t.Stride[i] != expect) return false;
            expect *= t.Shape[i];
            numel *= t.Shape[i];
        }
        return numel == t.Storage.Numel;
    }

    private static unsafe void ReadInto(Stream s, Tensor target, long bytes)
    {
        var span = target.bytes;
        int done = 0;
        while (done < bytes)
        {
            int n = s.Read(span.Slice(done, (int)Math.Min(bytes - done, 1 << 24)));
            if (n <= 0) throw new CheckpointException("storage record ended early");
            done += n;
        }
    }

    private static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    public void Dispose() => zip.Dispose();
}

/// <summary>
/// The tensors of one dict inside a torch zip checkpoint, renamed and filtered by a key selector, read lazily.
/// Non-tensor entries (and keys the selector drops) are not visible.
/// </summary>
public sealed class PickleTensorSource : ITensorSource, IDisposable
{
    private readonly TorchZipCheckpoint checkpoint;
    private readonly Dictionary<string, PyTensorRef> tensors;
    private readonly bool ownsCheckpoint;

    public PickleTensorSource(TorchZipCheckpoint checkpoint, PyDict dict, Func<string, string?> selectKey, bool ownsCheckpoint = false)
    {
        this.checkpoint = checkpoint;
        this.ownsCheckpoint = ownsCheckpoint;
        tensors = new(StringComparer.Ordinal);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string key || v is not PyTensorRef t) continue;
            var name = selectKey(key);
            if (name is null) continue;
            if (!tensors.TryAdd(name, t)) throw new CheckpointException($"{checkpoint.Path}: two tensors map to the key '{name}'");
        }
    }

    /// <summary>Opens <paramref name="path"/> and exposes the dict at <paramref name="dictPath"/> (e.g. "state_dict").</summary>
    public static PickleTensorSource Open(string path, string[] dictPath, Func<string, string?> selectKey)
    {
        var ckpt = TorchZipCheckpoint.Open(path);
        try
        {
            return new PickleTensorSource(ckpt, ckpt.Dict(dictPath), selectKey, ownsCheckpoint: true);
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<string> Keys => tensors.Keys;

    public bool Contains(string key) => tensors.ContainsKey(key);

    public long[] ShapeOf(string key) => Ref(key).Shape;

    public Tensor Read(string key) => checkpoint.Read(Ref(key));

    private PyTensorRef Ref(string key) =>
        tensors.TryGetValue(key, out var t) ? t : throw new CheckpointException($"{checkpoint.Path}: no tensor named '{key}'");

    public void Dispose()
    {
        if (ownsCheckpoint) checkpoint.Dispose();
    }
}
