namespace KimiAudio.Orchestrator.Browser;

/// <summary>The media type an audio object is served with: from its first bytes when they are known, else from its name.</summary>
public static class AudioContentType
{
    public const string Unknown = "application/octet-stream";

    public static string Of(ReadOnlySpan<byte> head, string key)
    {
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8)) return "audio/wav";
        if (head.StartsWith("fLaC"u8)) return "audio/flac";
        if (head.StartsWith("OggS"u8)) return "audio/ogg";
        if (head.StartsWith("ID3"u8) || (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0)) return "audio/mpeg";
        return Path.GetExtension(key).ToLowerInvariant() switch
        {
            ".wav" or ".wave" => "audio/wav",
            ".mp3" => "audio/mpeg",
            ".flac" => "audio/flac",
            ".ogg" or ".oga" or ".opus" => "audio/ogg",
            ".m4a" or ".mp4" => "audio/mp4",
            ".webm" => "audio/webm",
            _ => Unknown,
        };
    }
}
