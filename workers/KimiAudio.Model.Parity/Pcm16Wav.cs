using System.Buffers.Binary;

namespace KimiAudio.Model.Parity;

/// <summary>
/// Reads the fixtures' audio: RIFF/WAVE, PCM 16-bit, mono, 16 kHz, samples as int16 / 32768 (float32) — exactly how the
/// fixture oracle read them, with no resampling or decoding library in between.
/// </summary>
public static class Pcm16Wav
{
    public static float[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        ReadOnlySpan<byte> b = bytes;
        if (b.Length < 12 || !b[..4].SequenceEqual("RIFF"u8) || !b.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new InvalidDataException($"{path}: not a RIFF/WAVE file");
        int pos = 12;
        bool fmtSeen = false;
        while (pos + 8 <= b.Length)
        {
            var id = b.Slice(pos, 4);
            int size = BinaryPrimitives.ReadInt32LittleEndian(b.Slice(pos + 4, 4));
            int body = pos + 8;
            if (size < 0 || body + (long)size > b.Length) throw new InvalidDataException($"{path}: chunk runs past the end of the file");
            if (id.SequenceEqual("fmt "u8))
            {
                int format = BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(body, 2));
                int channels = BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(body + 2, 2));
                int rate = BinaryPrimitives.ReadInt32LittleEndian(b.Slice(body + 4, 4));
                int bits = BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(body + 14, 2));
                if (format != 1 || channels != 1 || rate != 16000 || bits != 16)
                    throw new InvalidDataException($"{path}: need PCM 16-bit mono 16 kHz, found format {format}, {channels} ch, {rate} Hz, {bits} bit");
                fmtSeen = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (!fmtSeen) throw new InvalidDataException($"{path}: data chunk before fmt chunk");
                var samples = new float[size / 2];
                for (int i = 0; i < samples.Length; i++)
                    samples[i] = BinaryPrimitives.ReadInt16LittleEndian(b.Slice(body + 2 * i, 2)) / 32768f;
                return samples;
            }
            pos = body + size + (size & 1);
        }
        throw new InvalidDataException($"{path}: no data chunk");
    }
}
