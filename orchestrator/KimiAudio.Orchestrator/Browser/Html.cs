using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>Markup that is already safe; the only way to put unencoded text into an <see cref="Html"/> document.</summary>
public readonly record struct RawHtml(string Value);

/// <summary>
/// An HTML document built from interpolated strings in which every hole is HTML-encoded unless it is a
/// <see cref="RawHtml"/>: <c>h.Add($"&lt;td&gt;{job.InputKey}&lt;/td&gt;")</c> cannot inject markup, whatever the key holds.
/// Numbers and dates are formatted with the invariant culture.
/// </summary>
public sealed class Html
{
    /// <summary>Encodes &lt; &gt; &amp; ' " (and more), but leaves letters of every script readable.</summary>
    public static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    internal StringBuilder Builder { get; } = new();

    public Html Add([InterpolatedStringHandlerArgument("")] ref Interpolation markup) => this;

    public Html Add(RawHtml markup)
    {
        Builder.Append(markup.Value);
        return this;
    }

    public static string Encode(string? text) => Encoder.Encode(text ?? "");

    public override string ToString() => Builder.ToString();

    [InterpolatedStringHandler]
    public readonly ref struct Interpolation
    {
        private readonly StringBuilder builder;

        public Interpolation(int literalLength, int formattedCount, Html html)
        {
            _ = formattedCount;
            builder = html.Builder;
            builder.EnsureCapacity(builder.Length + literalLength);
        }

        public void AppendLiteral(string literal) => builder.Append(literal);

        public void AppendFormatted(RawHtml markup) => builder.Append(markup.Value);

        public void AppendFormatted<T>(T value) => builder.Append(Encode(Convert.ToString(value, CultureInfo.InvariantCulture)));

        public void AppendFormatted<T>(T value, string format) where T : IFormattable
            => builder.Append(Encode(value.ToString(format, CultureInfo.InvariantCulture)));
    }
}
