namespace KimiAudio.Audio;

internal enum AudioContainer { Unknown, Wav, Mp3, Flac, OggVorbis, OggOpus, OggOther, Mp4 }

/// <summary>Recognises the container from the first bytes; a file's name is never consulted.</summary>
internal static class AudioFormatSniffer
{
    public static AudioContainer Sniff(ReadOnlySpan<byte> b)
    {
        if (WavHeaderReader.LooksLikeWav(b))
        {
            return AudioContainer.Wav;
        }
        if (b.StartsWith("fLaC"u8))
        {
            return AudioContainer.Flac;
        }
        if (b.StartsWith("OggS"u8))
        {
            // first page: 27-byte header + segment table, then the first packet ("\x01vorbis" for Vorbis)
            if (b.Length > 27)
            {
                int packet = 27 + b[26];
                if (b.Length >= packet + 7 && b[packet] == 1 && b.Slice(packet + 1, 6).SequenceEqual("vorbis"u8))
                {
                    return AudioContainer.OggVorbis;
                }
                if (b.Length >= packet + 8 && b.Slice(packet, 8).SequenceEqual("OpusHead"u8))
                {
                    return AudioContainer.OggOpus;
                }
            }
            return AudioContainer.OggOther;
        }
        if (b.Length >= 12 && b.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return AudioContainer.Mp4; // ISO base media (M4A, MP4, 3GP): the index may be at the end, ffmpeg reads it
        }
        int start = 0;
        if (b.StartsWith("ID3"u8) && b.Length >= 10)
        {
            // ID3v2: 10-byte header with a 28-bit "syncsafe" size, +10 when a footer is present
            long size = ((b[6] & 0x7F) << 21) | ((b[7] & 0x7F) << 14) | ((b[8] & 0x7F) << 7) | (b[9] & 0x7F);
            size += (b[5] & 0x10) != 0 ? 20 : 10;
            if (size >= b.Length)
            {
                return AudioContainer.Unknown;
            }
            start = (int)size;
            if (b[start..].StartsWith("fLaC"u8))
            {
                return AudioContainer.Flac;
            }
        }
        return IsMpegAudioFrame(b[start..]) ? AudioContainer.Mp3 : AudioContainer.Unknown;
    }

    // MPEG audio frame header: 11 sync bits, a valid version, layer I/II/III, bitrate index not "bad", sample rate index not reserved.
    private static bool IsMpegAudioFrame(ReadOnlySpan<byte> b) =>
        b.Length >= 4 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && (b[1] & 0x18) != 0x08 && (b[1] & 0x06) != 0
        && (b[2] & 0xF0) != 0xF0 && (b[2] & 0x0C) != 0x0C;
}
