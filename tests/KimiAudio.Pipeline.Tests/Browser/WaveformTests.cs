using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Browser;

namespace KimiAudio.Pipeline.Tests.Browser;

/// <summary>Pure parts of the results browser: peaks, SVG, encoding and return addresses.</summary>
public sealed class WaveformTests
{
    [Fact]
    public void Peaks_keep_the_extremes_of_each_slice()
    {
        float[] samples = [0, 0.5f, -0.25f, 0, 0.9f, -1f, 0.1f, 0.2f];
        var peaks = Waveform.Peaks(samples, 4);
        Assert.Equal([(0f, 0.5f), (-0.25f, 0f), (-1f, 0.9f), (0.1f, 0.2f)], peaks);
        Assert.Equal(3, Waveform.Peaks(samples[..3], 10).Length); // never more columns than samples
        Assert.Equal((-1f, 0.9f), Waveform.Peaks(samples, 1).Single());
    }

    [Fact]
    public void The_svg_draws_one_line_per_column_scaled_to_the_height()
    {
        var svg = Waveform.ToSvg([(-1f, 1f), (0f, 0f)], "a <b> & c");
        Assert.Contains("M200 1V99M600 49.5V50.5", svg); // full scale; silence still a 1 px line
        Assert.Contains("<title>a &lt;b&gt; &amp; c</title>", svg);
        Assert.DoesNotContain("class=\"peaks\"", Waveform.Message("t", "<x>"));
        Assert.Contains("&lt;x&gt;", Waveform.Message("t", "<x>"));
    }

    [Fact]
    public void Interpolated_holes_are_encoded_unless_raw()
    {
        var h = new Html();
        var text = "<script>alert('x')</script> \"q\" & 日本語";
        h.Add($"<p title=\"{text}\">{text}</p>{new RawHtml("<br>")}{1.5:0.0}");
        Assert.Equal("<p title=\"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;q&quot; &amp; 日本語\">"
            + "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;q&quot; &amp; 日本語</p><br>1.5", h.ToString());
    }

    [Theory]
    [InlineData("/ui/batches/1?state=failed", "/ui/batches/1?state=failed")]
    [InlineData("/ui", "/ui")]
    [InlineData(null, "/ui")]
    [InlineData("https://evil.example/ui", "/ui")]
    [InlineData("//evil.example", "/ui")]
    [InlineData("/uievil", "/ui")]
    [InlineData("/ui/login?returnUrl=/ui", "/ui")]
    [InlineData("/ui/\\evil", "/ui")]
    [InlineData("/ui/\r\nSet-Cookie: x", "/ui")]
    public void Return_addresses_stay_in_the_browser(string? requested, string expected)
        => Assert.Equal(expected, BrowserSession.SafeReturnUrl(requested));

    [Theory]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 0, 0, 0, 0, (byte)'W', (byte)'A', (byte)'V', (byte)'E' }, "x.bin", "audio/wav")]
    [InlineData(new byte[] { (byte)'f', (byte)'L', (byte)'a', (byte)'C' }, "x.wav", "audio/flac")]
    [InlineData(new byte[] { (byte)'O', (byte)'g', (byte)'g', (byte)'S' }, "x", "audio/ogg")]
    [InlineData(new byte[] { 0xFF, 0xFB, 0x90, 0x00 }, "x", "audio/mpeg")]
    [InlineData(new byte[] { 1, 2, 3 }, "x.mp3", "audio/mpeg")]
    [InlineData(new byte[] { 1, 2, 3 }, "x.html", "application/octet-stream")]
    public void Audio_content_type_comes_from_the_bytes_then_the_name(byte[] head, string key, string expected)
        => Assert.Equal(expected, AudioContentType.Of(head, key));
}
