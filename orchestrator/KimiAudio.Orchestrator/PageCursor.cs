using System.Globalization;

namespace KimiAudio.Orchestrator;

/// <summary>
/// Keyset position of a newest-first listing: the batch's creation time and id, and for job listings the job's seq
/// within the batch. Written as "ticks_batchid[_seq]" (opaque to clients: pass 'next' back as 'after').
/// </summary>
public sealed record PageCursor(DateTime CreatedAt, Guid BatchId, int Seq = 0)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{CreatedAt.Ticks}_{BatchId:N}_{Seq}");

    public static bool TryParse(string text, out PageCursor cursor)
    {
        cursor = new PageCursor(default, default);
        var parts = text.Split('_');
        if (parts.Length != 3
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || ticks > DateTime.MaxValue.Ticks
            || !Guid.TryParseExact(parts[1], "N", out var batchId)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            return false;
        cursor = new PageCursor(new DateTime(ticks, DateTimeKind.Utc), batchId, seq);
        return true;
    }
}
