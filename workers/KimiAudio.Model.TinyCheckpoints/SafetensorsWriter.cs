using KimiAudio.Model.Checkpoints;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>Writes tensors as a safetensors file (sorted keys, header padded with spaces to 8 bytes).</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (kv.Key, T: kv.Value.detach().cpu().contiguous()))
            .ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (key, t) in items)
        {
            long n = t.NumberOfElements * t.ElementSize;
            header[key] = new { dtype = SafetensorsFile.ToDTypeName(t.dtype), shape = t.shape, data_offsets = new[] { offset, offset + n } };
            offset += n;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((long)padded));
        fs.Write(json);
        for (int i = json.Length; i < padded; i++) fs.WriteByte((byte)' ');
        foreach (var (_, t) in items)
        {
            long n = t.NumberOfElements * t.ElementSize;
            if (n > 0) fs.Write(t.bytes);
            t.Dispose();
        }
    }
}
