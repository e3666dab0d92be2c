using System.Globalization;
using System.Text;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// A result's segments as subtitles: SubRip (.srt) or WebVTT (.vtt), one cue per segment with text, numbered from 1.
/// Segment text is put on one line (line breaks would end a cue); WebVTT escapes &amp; &lt; &gt; and cannot hold "-->".
/// </summary>
public static class Subtitles
{
    public static readonly string[] Formats = ["srt", "vtt"];

    public static string ContentType(string format) => format == "vtt" ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8";

    public static string Write(string format, IReadOnlyList<ResultSegment> segments) => format switch
    {
        "srt" => Srt(segments),
        "vtt" => WebVtt(segments),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown subtitle format"),
    };

    public static string Srt(IReadOnlyList<ResultSegment> segments)
    {
        var sb = new StringBuilder();
        var cue = 0;
        foreach (var s in segments)
        {
            var text = OneLine(s.Text);
            if (text.Length == 0) continue;
            if (cue > 0) sb.Append("\r\n");
            sb.Append(CultureInfo.InvariantCulture, $"{++cue}\r\n{Time(s.Start, ',')} --> {Time(s.End, ',')}\r\n{text}\r\n");
        }
        return sb.ToString();
    }

    public static string WebVtt(IReadOnlyList<ResultSegment> segments)
    {
        var sb = new StringBuilder("WEBVTT\n");
        var cue = 0;
        foreach (var s in segments)
        {
            var text = OneLine(s.Text).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
                .Replace(">", "&gt;", StringComparison.Ordinal);
            if (text.Length == 0) continue;
            sb.Append(CultureInfo.InvariantCulture, $"\n{++cue}\n{Time(s.Start, '.')} --> {Time(s.End, '.')}\n{text}\n");
        }
        return sb.ToString();
    }

    /// <summary>hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (WebVTT), rounded to the millisecond.</summary>
    public static string Time(double seconds, char separator)
    {
        var ms = (long)Math.Round(Math.Max(0, seconds) * 1000, MidpointRounding.AwayFromZero);
        return string.Create(CultureInfo.InvariantCulture, $"{ms / 3_600_000:00}:{ms / 60_000 % 60:00}:{ms / 1000 % 60:00}{separator}{ms % 1000:000}");
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
