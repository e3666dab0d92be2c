using System.Text.Json;

namespace KimiAudio.Model.FrontEnd;

/// <summary>Typed reads from a model's JSON config file, with errors that name the file and the field.</summary>
internal sealed class JsonConfig
{
    private readonly JsonElement root;

    public string Path { get; }

    private JsonConfig(string path, JsonElement root)
    {
        Path = path;
        this.root = root;
    }

    public static JsonConfig Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config file not found: {path}", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return new JsonConfig(path, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    private JsonElement? Find(string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private JsonElement Required(string name) =>
        Find(name) ?? throw new InvalidDataException($"{Path}: required field '{name}' is missing");

    public int Int(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)
            ? i
            : throw new InvalidDataException($"{Path}: field '{name}' must be an integer, found {v}");
    }

    public int? IntOrNull(string name) => Find(name) is null ? null : Int(name);

    public long Long(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i)
            ? i
            : throw new InvalidDataException($"{Path}: field '{name}' must be an integer, found {v}");
    }

    public double DoubleOr(string name, double fallback)
    {
        var v = Find(name);
        if (v is null) return fallback;
        return v.Value.ValueKind == JsonValueKind.Number
            ? v.Value.GetDouble()
            : throw new InvalidDataException($"{Path}: field '{name}' must be a number, found {v}");
    }

    public bool BoolOr(string name, bool fallback)
    {
        var v = Find(name);
        if (v is null) return fallback;
        return v.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{Path}: field '{name}' must be true or false, found {v}"),
        };
    }

    public string StringOr(string name, string fallback)
    {
        var v = Find(name);
        if (v is null) return fallback;
        return v.Value.ValueKind == JsonValueKind.String
            ? v.Value.GetString()!
            : throw new InvalidDataException($"{Path}: field '{name}' must be a string, found {v}");
    }
}
