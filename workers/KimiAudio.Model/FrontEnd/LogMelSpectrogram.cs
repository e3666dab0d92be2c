using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.FrontEnd;

/// <summary>
/// Whisper's log-mel numerics, shared by both front-ends: STFT (periodic Hann, centred with reflect padding), the last
/// frame dropped, power |X|², a mel filterbank, log10 of max(·, 1e-10), a floor at (max of the example − 8) and (x + 4) / 4.
/// Always computed in float32, whatever dtype the encoders run in.
/// </summary>
public sealed class LogMelSpectrogram : IDisposable
{
    private readonly Tensor filters;   // [n_mels, n_fft/2 + 1] float32
    private readonly Tensor window;    // [n_fft] float32

    public int NFft { get; }
    public int HopLength { get; }
    public int NMels { get; }
    public Device Device { get; }

    /// <param name="filters">mel filterbank [n_mels, n_fft/2+1]; moved to <paramref name="device"/> as float32.</param>
    public LogMelSpectrogram(Tensor filters, int nFft, int hopLength, Device device)
    {
        if (filters.dim() != 2 || filters.shape[1] != nFft / 2 + 1)
            throw new ArgumentException($"filterbank shape [{string.Join(", ", filters.shape)}] does not fit n_fft {nFft}", nameof(filters));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hopLength);
        NFft = nFft;
        HopLength = hopLength;
        NMels = (int)filters.shape[0];
        Device = device;
        this.filters = filters.to(ScalarType.Float32, device).detach();
        window = hann_window(nFft, periodic: true, dtype: ScalarType.Float32, device: device);
    }

    /// <summary>
    /// Log-mel of a batch of equally long waveforms [B, P] (float32, any device): returns [B, n_mels, P / hop] with the
    /// clamp floor taken per example (per row), as both reference paths do for one segment / one batch row.
    /// </summary>
    public Tensor Compute(Tensor waveforms)
    {
        if (waveforms.dim() != 2) throw new ArgumentException("waveforms must be [batch, samples]", nameof(waveforms));
        if (waveforms.shape[1] <= NFft / 2)
            throw new ArgumentException($"a waveform of {waveforms.shape[1]} samples is too short for reflect padding of {NFft / 2}", nameof(waveforms));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = waveforms.to(ScalarType.Float32, Device);
        var spec = x.stft(NFft, HopLength, NFft, window, center: true, pad_mode: PaddingModes.Reflect,
            normalized: false, onesided: true, return_complex: true);                  // [B, bins, frames + 1]
        var frames = spec.shape[2] - 1;
        var power = spec.narrow(2, 0, frames).abs().pow(2);                               // [B, bins, frames]
        var mel = matmul(filters, power);                                                 // [B, n_mels, frames]
        var log = mel.clamp_min(1e-10).log10();
        var max = log.amax([1, 2], keepdim: true);
        log = maximum(log, max - 8.0);
        return ((log + 4.0) / 4.0).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        filters.Dispose();
        window.Dispose();
    }
}
