using System.IO.MemoryMappedFiles;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>One entry of a safetensors header: where a tensor's bytes live and how to read them.</summary>
public sealed record SafetensorsEntry(string Key, string DType, long[] Shape, long Begin, long End, string FilePath);

/// <summary>
/// A safetensors file opened lazily: the JSON header is parsed once, tensor bytes are read on demand through a
/// memory map, so a multi-gigabyte shard is never held in managed memory.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile map;
    private readonly long dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, MemoryMappedFile map, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        this.map = map;
        this.dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"safetensors file not found: {path}");
        long fileLength = new FileInfo(path).Length;
        byte[] header;
        using (var fs = File.OpenRead(path))
        {
            Span<byte> len = stackalloc byte[8];
            if (fs.Read(len) != 8) throw new CheckpointException($"{path}: file too short for a safetensors header");
            long headerLength = BitConverter.ToInt64(len);
            if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > fileLength)
                throw new CheckpointException($"{path}: invalid safetensors header length {headerLength}");
            header = new byte[headerLength];
            fs.ReadExactly(header);
        }

        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        long dataStart = 8 + header.Length;
        using var doc = JsonDocument.Parse(header);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                continue;
            }
            var dtype = prop.Value.GetProperty("dtype").GetString() ?? throw new CheckpointException($"{path}: {prop.Name} has no dtype");
            var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || dataStart + offsets[1] > fileLength)
                throw new CheckpointException($"{path}: {prop.Name} has data offsets outside the file");
            long expected = shape.Aggregate(1L, (a, b) => a * b) * DTypeSize(dtype);
            if (expected != offsets[1] - offsets[0])
                throw new CheckpointException($"{path}: {prop.Name} holds {offsets[1] - offsets[0]} bytes, its shape [{string.Join(", ", shape)}] {dtype} needs {expected}");
            entries[prop.Name] = new SafetensorsEntry(prop.Name, dtype, shape, offsets[0], offsets[1], path);
        }

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        return new SafetensorsFile(path, map, dataStart, entries, metadata);
    }

    /// <summary>Reads one tensor onto the CPU in the file's own dtype.</summary>
    public Tensor Read(string key)
    {
        if (!Entries.TryGetValue(key, out var e)) throw new CheckpointException($"{Path}: no tensor named '{key}'");
        return Read(e);
    }

    public unsafe Tensor Read(SafetensorsEntry e)
    {
        var t = empty(e.Shape, ToScalarType(e.DType), CPU);
        long count = e.End - e.Begin;
        if (count == 0) return t;
        using var view = map.CreateViewAccessor(dataStart + e.Begin, count, MemoryMappedFileAccess.Read);
        byte* src = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref src);
        try
        {
            src += view.PointerOffset;
            new ReadOnlySpan<byte>(src, checked((int)count)).CopyTo(t.bytes);
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        return t;
    }

    public static ScalarType ToScalarType(string dtype) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new CheckpointException($"unsupported safetensors dtype {dtype}"),
    };

    public static string ToDTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new CheckpointException($"unsupported dtype {t} for safetensors"),
    };

    public static int DTypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new CheckpointException($"unsupported safetensors dtype {dtype}"),
    };

    public void Dispose() => map.Dispose();
}
