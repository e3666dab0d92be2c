using System.Globalization;
using System.Text.Json;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// One cell of a manifest row as its format gave it: a string (every CSV cell), a number (its original text kept), a
/// boolean, null, or a JSON object/array (JSONL). Metadata is written back exactly as it came.
/// </summary>
public readonly record struct ManifestValue(JsonValueKind Kind, string? Text = null, double Number = 0)
{
    public static readonly ManifestValue Null = new(JsonValueKind.Null);

    public static ManifestValue String(string text) => new(JsonValueKind.String, text);

    public static ManifestValue Boolean(bool value) => new(value ? JsonValueKind.True : JsonValueKind.False);

    /// <summary>A number; <paramref name="raw"/> is its text as written (a JSON number token), the invariant form by default.</summary>
    public static ManifestValue Numeric(double value, string? raw = null)
        => new(JsonValueKind.Number, raw ?? value.ToString("R", CultureInfo.InvariantCulture), value);

    /// <summary>A JSON value verbatim (objects and arrays keep their text).</summary>
    public static ManifestValue FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => String(e.GetString()!),
        JsonValueKind.Number => Numeric(e.GetDouble(), e.GetRawText()),
        JsonValueKind.True => Boolean(true),
        JsonValueKind.False => Boolean(false),
        JsonValueKind.Object or JsonValueKind.Array => new(e.ValueKind, e.GetRawText()),
        _ => Null,
    };

    public bool IsNull => Kind is JsonValueKind.Null or JsonValueKind.Undefined;

    /// <summary>A string cell's text (null for any other kind).</summary>
    public string? AsString() => Kind == JsonValueKind.String ? Text : null;

    /// <summary>A number, or a string that holds one (CSV); null when it is neither.</summary>
    public double? AsNumber() => Kind switch
    {
        JsonValueKind.Number => Number,
        JsonValueKind.String when double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    public void WriteTo(Utf8JsonWriter json)
    {
        switch (Kind)
        {
            case JsonValueKind.String: json.WriteStringValue(Text); break;
            case JsonValueKind.Number or JsonValueKind.Object or JsonValueKind.Array: json.WriteRawValue(Text!, skipInputValidation: true); break;
            case JsonValueKind.True: json.WriteBooleanValue(true); break;
            case JsonValueKind.False: json.WriteBooleanValue(false); break;
            default: json.WriteNullValue(); break;
        }
    }
}
