namespace KimiAudio.Audio;

/// <summary>Bounds applied while decoding; exceeding one fails the input with a clear reason.</summary>
public sealed record AudioDecodeLimits(double MaxSeconds = 4 * 3600, long MaxBytes = 2L * 1024 * 1024 * 1024, int TargetSampleRate = AudioDecoder.ModelSampleRate);
