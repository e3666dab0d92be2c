using System.Globalization;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// One item of a batch source and the source position just after it. The cursor is opaque to the submitter, which
/// checkpoints it with the page of job rows that ends at this item; <see cref="SourceReader.ReadAsync"/> given that
/// cursor yields exactly the items after it, in the same order.
/// </summary>
public sealed record SourceEntry(SourceItem Item, string Cursor);

/// <summary>A manifest's cursor: how many data rows were consumed (the last row's ManifestItem.Row), as an invariant decimal.</summary>
public static class ManifestCursor
{
    public static string Format(long entries) => entries.ToString(CultureInfo.InvariantCulture);

    public static long Parse(string? cursor) => cursor is null ? 0
        : long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new FormatException($"'{cursor}' is not a manifest cursor (an entry count)");
}
