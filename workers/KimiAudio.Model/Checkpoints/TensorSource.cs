using System.Text.Json;
using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// All tensors of a checkpoint, across shards, read lazily. A sharded checkpoint is opened through its
/// <c>*.safetensors.index.json</c> weight map (never by a file-name pattern); a single file is opened directly.
/// </summary>
public sealed class TensorSource : ITensorSource, IDisposable
{
    private readonly Dictionary<string, SafetensorsFile> files;
    private readonly Dictionary<string, SafetensorsEntry> entries;

    private TensorSource(Dictionary<string, SafetensorsFile> files, Dictionary<string, SafetensorsEntry> entries)
    {
        this.files = files;
        this.entries = entries;
    }

    public IReadOnlyCollection<string> Keys => entries.Keys;

    public bool Contains(string key) => entries.ContainsKey(key);

    public SafetensorsEntry Entry(string key) =>
        entries.TryGetValue(key, out var e) ? e : throw new CheckpointException($"checkpoint has no tensor named '{key}'");

    public long[] ShapeOf(string key) => Entry(key).Shape;

    public Tensor Read(string key)
    {
        var e = Entry(key);
        return files[e.FilePath].Read(e);
    }

    /// <summary>Opens <paramref name="indexPath"/> (an index.json) and every shard its weight map names.</summary>
    public static TensorSource OpenIndex(string indexPath)
    {
        if (!File.Exists(indexPath)) throw new CheckpointException($"checkpoint index not found: {indexPath}");
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        if (!doc.RootElement.TryGetProperty("weight_map", out var map))
            throw new CheckpointException($"{indexPath}: no weight_map");
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject()) wanted[p.Name] = p.Value.GetString()!;

        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in wanted.Values.Distinct())
            {
                var path = System.IO.Path.Combine(folder, shard);
                var f = SafetensorsFile.Open(path);
                files[f.Path] = f;
            }
            foreach (var (key, shard) in wanted)
            {
                var f = files[System.IO.Path.Combine(folder, shard)];
                if (!f.Entries.TryGetValue(key, out var e))
                    throw new CheckpointException($"{indexPath}: weight_map puts '{key}' in {shard}, which does not hold it");
                entries[key] = e;
            }
        }
        catch
        {
            foreach (var f in files.Values) f.Dispose();
            throw;
        }
        return new TensorSource(files, entries);
    }

    /// <summary>Opens one safetensors file.</summary>
    public static TensorSource OpenFile(string path)
    {
        var f = SafetensorsFile.Open(path);
        return new TensorSource(new() { [f.Path] = f }, new Dictionary<string, SafetensorsEntry>(f.Entries, StringComparer.Ordinal));
    }

    public void Dispose()
    {
        foreach (var f in files.Values) f.Dispose();
    }
}
