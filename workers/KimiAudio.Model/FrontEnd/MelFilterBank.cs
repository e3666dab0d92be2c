using static TorchSharp.torch;

namespace KimiAudio.Model.FrontEnd;

/// <summary>
/// Slaney-scale mel filterbank with Slaney area normalisation (librosa's default, htk = false, norm = "slaney"), computed
/// here rather than read from a data file. Shape [n_mels, n_fft/2 + 1].
/// </summary>
public static class MelFilterBank
{
    private const double MinLogHz = 1000.0;
    private const double MinLogMel = 15.0;          // 3 · 1000 / 200
    private static readonly double LogStep = Math.Log(6.4) / 27.0;

    /// <summary>How the float64 weights become float32.</summary>
    public enum Rounding
    {
        /// <summary>Triangles and normalisation in float64, one cast at the end (HF <c>mel_filter_bank</c>).</summary>
        Float64ThenCast,

        /// <summary>Triangles rounded to float32 before the float64 normalisation, then rounded again
        /// (librosa.filters.mel with dtype float32, i.e. whisper's <c>mel_filters.npz</c>).</summary>
        Librosa,
    }

    /// <summary>Hz → mel on the Slaney scale: linear below 1 kHz, logarithmic above.</summary>
    public static double HzToMel(double hz) =>
        hz >= MinLogHz ? MinLogMel + Math.Log(hz / MinLogHz) / LogStep : 3.0 * hz / 200.0;

    /// <summary>mel → Hz on the Slaney scale.</summary>
    public static double MelToHz(double mel) =>
        mel >= MinLogMel ? MinLogHz * Math.Exp(LogStep * (mel - MinLogMel)) : 200.0 * mel / 3.0;

    /// <summary>The filterbank as a row-major [nMels, nFft/2+1] float32 array.</summary>
    public static float[,] Compute(int sampleRate, int nFft, int nMels, double fMin, double fMax, Rounding rounding)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nFft);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nMels);
        if (!(fMin >= 0 && fMax > fMin && fMax <= sampleRate / 2.0))
            throw new ArgumentOutOfRangeException(nameof(fMax), $"need 0 <= fMin < fMax <= sampleRate/2, got {fMin}, {fMax}");

        int nBins = nFft / 2 + 1;
        var fftFreqs = new double[nBins];
        double binHz = (double)sampleRate / nFft;
        for (int k = 0; k < nBins; k++) fftFreqs[k] = k * binHz;

        // n_mels + 2 points evenly spaced in mel (numpy linspace: start + i·step, last point exactly the end)
        double melLo = HzToMel(fMin), melHi = HzToMel(fMax);
        var edges = new double[nMels + 2];
        double step = (melHi - melLo) / (nMels + 1);
        for (int i = 0; i < edges.Length; i++) edges[i] = MelToHz(melLo + i * step);
        edges[^1] = MelToHz(melHi);

        var w = new float[nMels, nBins];
        for (int m = 0; m < nMels; m++)
        {
            double lowerWidth = edges[m + 1] - edges[m];
            double upperWidth = edges[m + 2] - edges[m + 1];
            double norm = 2.0 / (edges[m + 2] - edges[m]);
            for (int k = 0; k < nBins; k++)
            {
                double rising = (fftFreqs[k] - edges[m]) / lowerWidth;
                double falling = (edges[m + 2] - fftFreqs[k]) / upperWidth;
                double tri = Math.Max(0.0, Math.Min(rising, falling));
                w[m, k] = rounding == Rounding.Librosa ? (float)((float)tri * norm) : (float)(tri * norm);
            }
        }
        return w;
    }

    /// <summary>The filterbank as a float32 tensor [nMels, nFft/2+1] on <paramref name="device"/>.</summary>
    public static Tensor ComputeTensor(int sampleRate, int nFft, int nMels, double fMin, double fMax, Rounding rounding, Device device)
    {
        var w = Compute(sampleRate, nFft, nMels, fMin, fMax, rounding);
        var flat = new float[w.Length];
        Buffer.BlockCopy(w, 0, flat, 0, flat.Length * sizeof(float));
        return tensor(flat, [w.GetLength(0), w.GetLength(1)], ScalarType.Float32).to(device);
    }
}
