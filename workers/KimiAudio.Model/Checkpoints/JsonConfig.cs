using System.Text.Json;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// THE way the model library reads a JSON config file (config.json of the LLM, Whisper, GLM tokenizer and vocoder,
/// preprocessor_config.json): typed reads whose errors name the file and the field. Each loader keeps its own exception
/// type: <see cref="InvalidDataException"/> (a missing file: <see cref="FileNotFoundException"/>) unless it passes
/// <c>errors</c> (e.g. <see cref="CheckpointException"/> for the LLM and the vocoder).
/// </summary>
internal sealed class JsonConfig
{
    private readonly JsonElement root;
    private readonly Func<string, Exception> error;

    public string Path { get; }

    private JsonConfig(string path, JsonElement root, Func<string, Exception> error)
    {
        Path = path;
        this.root = root;
        this.error = error;
    }

    public static JsonConfig Open(string path, Func<string, Exception>? errors = null)
    {
        if (!File.Exists(path)) throw errors?.Invoke($"config file not found: {path}") ?? new FileNotFoundException($"config file not found: {path}", path);
        var error = errors ?? (m => new InvalidDataException(m));
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return new JsonConfig(path, doc.RootElement.Clone(), error);
        }
        catch (JsonException e)
        {
            throw errors?.Invoke($"{path} is not valid JSON: {e.Message}") ?? new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    private JsonElement? Find(string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private JsonElement Required(string name) =>
        Find(name) ?? throw error($"{Path}: required field '{name}' is missing");

    private int AsInt(string name, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw error($"{Path}: field '{name}' must be an integer, found {v}");

    public int Int(string name) => AsInt(name, Required(name));

    public int? IntOrNull(string name) => Find(name) is { } v ? AsInt(name, v) : null;

    public long Long(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i)
            ? i
            : throw error($"{Path}: field '{name}' must be an integer, found {v}");
    }

    public double Double(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw error($"{Path}: field '{name}' must be a number, found {v}");
    }

    public double DoubleOr(string name, double fallback) => Find(name) is null ? fallback : Double(name);

    public bool BoolOr(string name, bool fallback)
    {
        var v = Find(name);
        if (v is null) return fallback;
        return v.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw error($"{Path}: field '{name}' must be true or false, found {v}"),
        };
    }

    public string String(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw error($"{Path}: field '{name}' must be a string, found {v}");
    }

    public string? StringOrNull(string name) => Find(name) is null ? null : String(name);

    public string StringOr(string name, string fallback) => StringOrNull(name) ?? fallback;

    /// <summary>A field that configs write either as a string or as a number ("resblock": "1" or 1), as text.</summary>
    public string Text(string name)
    {
        var v = Required(name);
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString()!,
            JsonValueKind.Number => v.GetRawText(),
            _ => throw error($"{Path}: field '{name}' must be a string or a number, found {v}"),
        };
    }

    public int[] IntArray(string name) => Ints(name, Required(name));

    public int[][] IntArrays(string name)
    {
        var v = Required(name);
        return v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(e => Ints(name, e)).ToArray()
            : throw error($"{Path}: field '{name}' must be an array of integer arrays, found {v}");
    }

    private int[] Ints(string name, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(e => AsInt(name, e)).ToArray()
            : throw error($"{Path}: field '{name}' must be an array of integers, found {v}");
}
