using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>Results browser settings. Bound from section "Browser".</summary>
public sealed class BrowserOptions
{
    public const string SectionName = "Browser";

    /// <summary>Rows per page of the batches list and of a batch's job table.</summary>
    [Range(1, 1000)] public int PageSize { get; set; } = 50;

    /// <summary>
    /// Audio objects up to this size are read whole and served with Range support (seeking in the player); larger ones are
    /// streamed from S3 from the start, without Range support, so memory stays bounded.
    /// </summary>
    [Range(0, 1L << 31)] public long RangeBufferMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>A waveform is drawn for audio up to this size and length; longer audio gets a picture that says so.</summary>
    [Range(1, 1L << 31)] public long WaveformMaxBytes { get; set; } = 256L * 1024 * 1024;

    [Range(1, 24 * 3600)] public double WaveformMaxSeconds { get; set; } = 3600;

    /// <summary>The ffmpeg executable that decodes FLAC, Opus, M4A and other formats for waveforms (a name on PATH or a full path).</summary>
    [Required(AllowEmptyStrings = false)] public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>
    /// Folder of the data-protection key ring that encrypts login cookies. Unset: ASP.NET Core's default
    /// (~/.aspnet/DataProtection-Keys). Several orchestrator replicas behind one address must share one folder.
    /// </summary>
    public string? SessionKeyRingPath { get; set; }
}
