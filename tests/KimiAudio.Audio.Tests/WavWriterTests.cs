using System.Buffers.Binary;

namespace KimiAudio.Audio.Tests;

public sealed class WavWriterTests
{
    [Fact]
    public void Pcm16Mono_writes_a_canonical_44_byte_header()
    {
        var bytes = WavWriter.Pcm16Mono(new float[1000], 16000);

        Assert.Equal(44 + 2000, bytes.Length);
        Assert.Equal("RIFF"u8.ToArray(), bytes[..4]);
        Assert.Equal(36u + 2000, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal("WAVEfmt "u8.ToArray(), bytes[8..16]);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(20)));   // PCM
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(22)));   // mono
        Assert.Equal(16000u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(32000u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28))); // byte rate
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(32)));   // block align
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(34)));  // bits
        Assert.Equal("data"u8.ToArray(), bytes[36..40]);
        Assert.Equal(2000u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(40)));
    }

    [Fact]
    public void Pcm16Mono_clips_rounds_and_writes_nan_as_silence()
    {
        var bytes = WavWriter.Pcm16Mono([1.5f, -2f, 0.5f, float.NaN, float.PositiveInfinity, -0.25f], 8000);
        short At(int i) => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(44 + 2 * i));

        Assert.Equal(32767, At(0));
        Assert.Equal(-32767, At(1));
        Assert.Equal(16384, At(2)); // 0.5 * 32767 = 16383.5, rounded to even
        Assert.Equal(0, At(3));
        Assert.Equal(32767, At(4));
        Assert.Equal(-8192, At(5)); // -8191.75
    }

    [Fact]
    public async Task Pcm16Mono_round_trips_through_the_decoder_within_one_step()
    {
        var tone = Signals.Sine(300, 16000, 0.5, 0.9).Select(v => (float)v).ToArray();

        var decoded = await AudioDecoder.DecodeAsync(WavWriter.Pcm16Mono(tone, 16000), null, new AudioDecodeLimits(), CancellationToken.None);

        Assert.Equal(tone.Length, decoded.Samples.Length);
        for (int i = 0; i < tone.Length; i++)
        {
            Assert.Equal(tone[i], decoded.Samples[i], 1.0 / 16000);
        }
    }

    [Fact]
    public async Task Float32Mono_round_trips_exactly()
    {
        var tone = Signals.Sine(300, 24000, 0.25, 0.7).Select(v => (float)v).ToArray();
        var bytes = WavWriter.Float32Mono(tone, 24000);

        var decoded = await AudioDecoder.DecodeAsync(bytes, null, new AudioDecodeLimits(TargetSampleRate: 24000), CancellationToken.None);

        Assert.Equal(44 + 4 * tone.Length, bytes.Length);
        Assert.Equal(tone, decoded.Samples);
    }
}
