using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Infrastructure.Storage;

/// <summary>S3-compatible storage. Bound from section "S3" (S3_SERVICE_URL, S3_ACCESS_KEY, S3_SECRET_KEY, S3_EMULATOR are mapped onto it).</summary>
public sealed class S3Options
{
    public const string SectionName = "S3";

    /// <summary>Endpoint of an S3-compatible server; empty means AWS itself (region endpoint).</summary>
    [Url] public string? ServiceUrl { get; set; }
    [Required] public string AccessKey { get; set; } = "";
    [Required] public string SecretKey { get; set; } = "";
    [Required] public string Region { get; set; } = "us-east-1";
    /// <summary>True for the local s3rver emulator: disables aws-chunked uploads and checksum trailers it would store as data.</summary>
    public bool Emulator { get; set; }
    public bool ForcePathStyle { get; set; } = true;
    [Range(1, 3600)] public int RequestTimeoutSeconds { get; set; } = 60;
    /// <summary>Prefix (inside the input bucket) under which generated speech is written; never listed as input.</summary>
    [Required] public string ResultsPrefix { get; set; } = "kimia-results/";
}
