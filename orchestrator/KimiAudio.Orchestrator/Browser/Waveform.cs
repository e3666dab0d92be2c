using System.Globalization;
using System.Text;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>
/// A waveform picture as SVG: the samples are cut into one slice per column and each column is a vertical line from the
/// slice's minimum to its maximum, so a peak of one sample is never lost however long the audio is.
/// </summary>
public static class Waveform
{
    public const int Width = 800;
    public const int Height = 100;

    /// <summary>Sample rate the audio is decoded at for drawing (peaks, not fidelity, matter here).</summary>
    public const int DrawSampleRate = 8000;

    /// <summary>Minimum and maximum of each of <paramref name="columns"/> equal slices (fewer when there are fewer samples).</summary>
    public static (float Min, float Max)[] Peaks(ReadOnlySpan<float> samples, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        var n = Math.Min(columns, samples.Length);
        var peaks = new (float Min, float Max)[n];
        for (var c = 0; c < n; c++)
        {
            var slice = samples[(int)((long)c * samples.Length / n)..(int)((long)(c + 1) * samples.Length / n)];
            float min = slice[0], max = slice[0];
            foreach (var s in slice)
            {
                if (s < min) min = s;
                if (s > max) max = s;
            }
            peaks[c] = (min, max);
        }
        return peaks;
    }

    /// <summary>The SVG document of the peaks (values in [-1, 1]); <paramref name="title"/> is encoded.</summary>
    public static string ToSvg((float Min, float Max)[] peaks, string title)
    {
        const float mid = Height / 2f;
        var path = new StringBuilder(peaks.Length * 16);
        var step = peaks.Length > 0 ? (double)Width / peaks.Length : 0;
        for (var c = 0; c < peaks.Length; c++)
        {
            var x = (c + 0.5) * step;
            var top = mid - Math.Clamp(peaks[c].Max, -1f, 1f) * (mid - 1);
            var bottom = mid - Math.Clamp(peaks[c].Min, -1f, 1f) * (mid - 1);
            if (bottom - top < 1) (top, bottom) = ((top + bottom - 1) / 2, (top + bottom + 1) / 2); // silence still shows as a line
            path.Append(CultureInfo.InvariantCulture, $"M{x:0.##} {top:0.##}V{bottom:0.##}");
        }
        var strokeWidth = Math.Max(step, 1).ToString("0.##", CultureInfo.InvariantCulture);
        return Document(title, $"""<path class="peaks" d="{path}" stroke="#2f6f9f" stroke-width="{strokeWidth}" fill="none"/>""");
    }

    /// <summary>An SVG of the same size with a message instead of a waveform (audio too long, corrupt, missing).</summary>
    public static string Message(string title, string message)
        => Document(title, $"""<text x="8" y="{Height / 2 + 5}" font-family="sans-serif" font-size="14" fill="#a33">{Html.Encode(message)}</text>""");

    private static string Document(string title, string body) => $"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {Width} {Height}" width="{Width}" height="{Height}" preserveAspectRatio="none">
        <title>{Html.Encode(title)}</title>
        <rect width="{Width}" height="{Height}" fill="#f4f7fa"/>
        <line x1="0" y1="{Height / 2}" x2="{Width}" y2="{Height / 2}" stroke="#c8d3dd" stroke-width="1"/>
        {body}
        </svg>
        """;
}
