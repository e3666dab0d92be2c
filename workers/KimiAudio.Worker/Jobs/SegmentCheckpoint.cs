namespace KimiAudio.Worker.Jobs;

/// <summary>A finished segment as stored in job_segments.</summary>
public sealed record SegmentCheckpoint
{
    public int SegmentIndex { get; init; }
    public int StartSample { get; init; }
    public int EndSample { get; init; }
    public string Text { get; init; } = "";
    public int[] TextTokens { get; init; } = [];
    public int[] AudioTokens { get; init; } = [];
    /// <summary>Generated 24 kHz speech as 16-bit little-endian PCM, or null.</summary>
    public byte[]? SpeechPcm16 { get; init; }
    public string TimingsJson { get; init; } = "{}";
}
