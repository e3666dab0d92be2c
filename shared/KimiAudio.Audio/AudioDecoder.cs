namespace KimiAudio.Audio;

/// <summary>Decodes WAV (PCM 8/16/24/32, float), MP3, FLAC and Ogg to 16 kHz mono float samples.</summary>
public static class AudioDecoder
{
    public const int ModelSampleRate = 16000;

    /// <summary>
    /// Decodes <paramref name="data"/>; the format is sniffed from the bytes, <paramref name="nameHint"/> is only a hint.
    /// Throws <see cref="AudioDecodeException"/> with a reason for anything that is not decodable audio within the limits.
    /// </summary>
    public static Task<DecodedAudio> DecodeAsync(ReadOnlyMemory<byte> data, string? nameHint, AudioDecodeLimits limits, CancellationToken ct)
        => throw new NotImplementedException("audio decoding: owned by the audio-decoding work item");
}
