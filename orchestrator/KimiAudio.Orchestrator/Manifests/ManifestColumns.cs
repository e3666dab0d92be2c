using System.Buffers;
using System.Text;
using System.Text.Json;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// The columns a manifest row is read by, with the speech toolkits' names. The audio reference is the first present of
/// <c>audio_filepath</c> (NeMo), <c>audio</c>, <c>path</c>, <c>key</c> (a string, or an object with a string <c>path</c>,
/// as the datasets Audio feature writes it): an <c>s3://bucket/key</c> URI or a key in the manifest's bucket.
/// <c>duration</c> (seconds) and <c>offset</c> (seconds; with it the row is the region offset … offset + duration of a
/// longer file, as in NeMo), the per-item <c>prompt</c> or <c>question</c>, the reference transcript <c>text</c>, and the
/// language (<c>language</c>/<c>lang</c>, also kept as metadata). Every other column, and a second audio or prompt
/// column, is kept verbatim as the row's metadata. A row that breaks a rule fails alone with its line number.
/// </summary>
public static class ManifestColumns
{
    public static readonly string[] Audio = ["audio_filepath", "audio", "path", "key"];
    public static readonly string[] Prompt = ["prompt", "question"];
    public static readonly string[] Language = ["language", "lang"];
    public const string Text = "text";
    public const string Duration = "duration";
    public const string Offset = "offset";

    /// <summary>Longest reference transcript and prompt accepted (characters).</summary>
    public const int MaxTextLength = 100_000;

    public static ManifestItem Map(S3Uri manifest, ManifestRecord record)
    {
        var item = new ManifestItem { Row = record.Row, Line = record.Line, Bucket = manifest.Bucket, Key = $"{manifest.Key}#line={record.Line}" };
        if (record.Problem is not null) return item with { Error = Problem(record, record.Problem) };

        int audioAt = -1, promptAt = -1;
        for (var i = 0; i < record.Fields.Count; i++)
        {
            var name = record.Fields[i].Key;
            if (Rank(Audio, name) is var a and >= 0 && (audioAt < 0 || a < Rank(Audio, record.Fields[audioAt].Key))) audioAt = i;
            if (Rank(Prompt, name) is var p and >= 0 && (promptAt < 0 || p < Rank(Prompt, record.Fields[promptAt].Key))) promptAt = i;
        }
        if (audioAt < 0) return item with { Error = Problem(record, $"no audio reference (one of {string.Join(", ", Audio)})") };
        var reference = AudioReference(record.Fields[audioAt].Value)?.Trim();
        if (string.IsNullOrEmpty(reference)) return item with { Error = Problem(record, $"\"{record.Fields[audioAt].Key}\" must be a non-empty string (an s3:// URI or a key)") };
        if (reference.StartsWith("s3://", StringComparison.Ordinal))
        {
            if (!S3Uri.TryParse(reference, out var uri) || uri.Key.Length == 0)
                return item with { Error = Problem(record, $"'{reference}' is not a valid s3://bucket/key") };
            item = item with { Bucket = uri.Bucket, Key = uri.Key };
        }
        else item = item with { Key = reference };

        string? prompt = null, text = null, language = null;
        double? duration = null, offset = null;
        var metadata = new ArrayBufferWriter<byte>();
        var hasMetadata = false;
        using (var json = new Utf8JsonWriter(metadata))
        {
            json.WriteStartObject();
            for (var i = 0; i < record.Fields.Count; i++)
            {
                var (name, value) = (record.Fields[i].Key, record.Fields[i].Value);
                if (i == audioAt) continue;
                if (i == promptAt)
                {
                    prompt = value.AsString();
                    if (prompt is null && !value.IsNull) return item with { Error = Problem(record, $"\"{name}\" must be a string") };
                    if (prompt is { Length: > MaxTextLength }) return item with { Error = Problem(record, $"\"{name}\" is over {MaxTextLength} characters") };
                    continue;
                }
                if (Is(name, Text))
                {
                    text = value.AsString();
                    if (text is null && !value.IsNull) return item with { Error = Problem(record, "\"text\" (the reference transcript) must be a string") };
                    if (text is { Length: > MaxTextLength }) return item with { Error = Problem(record, $"\"text\" is over {MaxTextLength} characters") };
                    continue;
                }
                if (Is(name, Duration) || Is(name, Offset))
                {
                    if (value.IsNull) continue;
                    var seconds = value.AsNumber();
                    var isOffset = Is(name, Offset);
                    if (seconds is not { } s || !double.IsFinite(s) || (isOffset ? s < 0 : s <= 0))
                        return item with { Error = Problem(record, $"\"{name}\" must be a number of seconds {(isOffset ? ">= 0" : "> 0")}") };
                    if (isOffset) offset = s; else duration = s;
                    continue;
                }
                if (Rank(Language, name) >= 0 && language is null) language = value.AsString()?.Trim().ToLowerInvariant();
                json.WritePropertyName(name);
                value.WriteTo(json);
                hasMetadata = true;
            }
            json.WriteEndObject();
        }
        return item with
        {
            Prompt = string.IsNullOrEmpty(prompt) ? null : prompt,
            ReferenceText = text,
            Language = string.IsNullOrEmpty(language) ? null : language,
            DurationSeconds = duration,
            OffsetSeconds = offset,
            MetadataJson = hasMetadata ? Encoding.UTF8.GetString(metadata.WrittenSpan) : null,
        };
    }

    private static string? AudioReference(ManifestValue value)
    {
        if (value.AsString() is { } s) return s;
        if (value.Kind != JsonValueKind.Object) return null;
        using var doc = JsonDocument.Parse(value.Text!);
        return doc.RootElement.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
    }

    private static string Problem(ManifestRecord record, string problem) => $"manifest line {record.Line}: {problem}";

    private static bool Is(string name, string column) => name.Equals(column, StringComparison.OrdinalIgnoreCase);

    private static int Rank(string[] names, string name) => Array.FindIndex(names, n => Is(name, n));
}

/// <summary>
/// A manifest row read by <see cref="ManifestColumns"/>. With <see cref="Error"/> the row is malformed: its job fails at
/// submission with that reason (Bucket/Key are then the reference when it could be read, else the manifest's line).
/// </summary>
public sealed record ManifestItem
{
    public long Row { get; init; }
    public long Line { get; init; }
    public string Bucket { get; init; } = "";
    public string Key { get; init; } = "";
    public string? Prompt { get; init; }
    public string? ReferenceText { get; init; }
    public string? Language { get; init; }
    public double? OffsetSeconds { get; init; }
    public double? DurationSeconds { get; init; }
    /// <summary>The row's other columns as one JSON object (null when there are none).</summary>
    public string? MetadataJson { get; init; }
    public string? Error { get; init; }

    /// <summary>The region to annotate: with an offset, offset … offset + duration (to the end without a duration).</summary>
    public MediaRegion? Region => OffsetSeconds is { } o ? new MediaRegion { OffsetSeconds = o, DurationSeconds = DurationSeconds } : null;
}
