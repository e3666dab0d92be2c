using KimiAudio.Orchestrator.Export;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Pipeline.Tests;

/// <summary>SubRip and WebVTT text of a result's segments (pure).</summary>
public class SubtitlesTests
{
    private static readonly ResultSegment[] Segments =
    [
        new() { Index = 0, Start = 0, End = 21.55, Text = "Hello there." },
        new() { Index = 1, Start = 21.55, End = 50.1234, Text = "" }, // no text: no cue
        new() { Index = 2, Start = 50.1234, End = 3725.0005, Text = "a < b & c --> d\nsecond line" },
    ];

    [Fact]
    public void Srt_numbers_the_cues_with_text_and_uses_comma_milliseconds_and_crlf()
    {
        Assert.Equal(
            "1\r\n00:00:00,000 --> 00:00:21,550\r\nHello there.\r\n" +
            "\r\n2\r\n00:00:50,123 --> 01:02:05,001\r\na < b & c --> d second line\r\n",
            Subtitles.Srt(Segments));
    }

    [Fact]
    public void WebVtt_has_its_header_dot_milliseconds_and_escaped_text()
    {
        Assert.Equal(
            "WEBVTT\n" +
            "\n1\n00:00:00.000 --> 00:00:21.550\nHello there.\n" +
            "\n2\n00:00:50.123 --> 01:02:05.001\na &lt; b &amp; c --&gt; d second line\n",
            Subtitles.WebVtt(Segments));
    }

    [Fact]
    public void Times_round_to_the_millisecond_and_carry_into_seconds_minutes_and_hours()
    {
        Assert.Equal("00:00:00,000", Subtitles.Time(-1, ','));
        Assert.Equal("00:00:01,000", Subtitles.Time(0.9995, ','));
        Assert.Equal("00:01:00.000", Subtitles.Time(59.9996, '.'));
        Assert.Equal("10:00:00.000", Subtitles.Time(36000, '.'));
    }

    [Fact]
    public void No_segments_with_text_is_an_empty_srt_and_a_header_only_vtt()
    {
        Assert.Equal("", Subtitles.Srt([]));
        Assert.Equal("WEBVTT\n", Subtitles.WebVtt([new ResultSegment { Text = "  " }]));
    }
}
