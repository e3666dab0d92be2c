using System.Numerics;
using System.Runtime.InteropServices;

namespace KimiAudio.Audio;

/// <summary>
/// Band-limited sample-rate conversion of mono float audio with a Kaiser-windowed sinc filter (polyphase).
/// </summary>
/// <remarks>
/// Filter: sinc low-pass at 0.46 × the lower of the two rates (e.g. 7.36 kHz for 16 kHz output), 32 zero crossings on each
/// side at the lower rate, Kaiser window β = 8 (about −80 dB stop band from the lower Nyquist frequency up; flat to well
/// under 0.01 dB below 0.42 × the lower rate). Each phase is normalised to unit DC gain. For a rational ratio L/M
/// (after dividing by the gcd) every output sample uses its exact phase when L is small (all common rates); for odd rates
/// the phase is rounded to one of at least 256 (timing error below 1/256 of an input sample). Output sample n sits at input
/// time n·from/to; samples outside the input are zero.
/// </remarks>
public static class AudioResampler
{
    private const int ZeroCrossings = 32;
    private const double Rolloff = 0.92;
    private const double KaiserBeta = 8.0;
    private const int MaxTableFloats = 4_000_000;

    /// <summary>Number of output samples for <paramref name="inputLength"/> input samples: ceil(n·to/from).</summary>
    public static long OutputLength(long inputLength, int fromRate, int toRate)
    {
        long g = Gcd(fromRate, toRate);
        long up = toRate / g, down = fromRate / g;
        return (inputLength * up + down - 1) / down;
    }

    public static float[] Resample(ReadOnlySpan<float> input, int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
        if (fromRate == toRate)
        {
            return input.ToArray();
        }

        long g = Gcd(fromRate, toRate);
        long up = toRate / g, down = fromRate / g;
        double scale = Math.Min(1.0, (double)toRate / fromRate); // cutoff relative to the input's Nyquist frequency
        double cutoff = 0.5 * scale * Rolloff;                    // cycles per input sample
        int half = (int)Math.Ceiling(ZeroCrossings / scale);      // taps on each side, in input samples
        int taps = 2 * half;
        int phases = (int)Math.Min(up, Math.Max(256, MaxTableFloats / taps));
        float[] table = BuildTable(phases, taps, half, cutoff);

        long outLength = OutputLength(input.Length, fromRate, toRate);
        if (outLength > Array.MaxLength)
        {
            throw new ArgumentException($"resampled audio would have {outLength} samples, more than an array holds", nameof(input));
        }
        var output = new float[outLength];
        for (long n = 0; n < outLength; n++)
        {
            long pos = n * down;
            long i0 = pos / up;
            int phase = (int)(pos % up * phases / up);
            long start = i0 - half + 1;
            var coefficients = table.AsSpan(phase * taps, taps);
            output[n] = start >= 0 && start + taps <= input.Length
                ? Dot(input.Slice((int)start, taps), coefficients)
                : DotClipped(input, start, coefficients);
        }
        return output;
    }

    // Row p holds the filter for output times p/phases past input sample i0, applied to inputs i0-half+1 .. i0+half.
    private static float[] BuildTable(int phases, int taps, int half, double cutoff)
    {
        var table = new float[phases * taps];
        double i0Beta = BesselI0(KaiserBeta);
        var row = new double[taps];
        for (int p = 0; p < phases; p++)
        {
            double frac = (double)p / phases;
            double sum = 0;
            for (int m = 0; m < taps; m++)
            {
                double x = frac + half - 1 - m; // distance from the output time to input i0-half+1+m
                double r = x / half;
                double window = Math.Abs(r) >= 1 ? 0 : BesselI0(KaiserBeta * Math.Sqrt(1 - r * r)) / i0Beta;
                double arg = 2 * cutoff * x;
                double sinc = Math.Abs(arg) < 1e-12 ? 1 : Math.Sin(Math.PI * arg) / (Math.PI * arg);
                row[m] = 2 * cutoff * sinc * window;
                sum += row[m];
            }
            for (int m = 0; m < taps; m++)
            {
                table[p * taps + m] = (float)(row[m] / sum);
            }
        }
        return table;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            var acc = Vector<float>.Zero;
            for (int k = 0; k < va.Length; k++)
            {
                acc += va[k] * vb[k];
            }
            sum = Vector.Sum(acc);
            i = va.Length * Vector<float>.Count;
        }
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    private static float DotClipped(ReadOnlySpan<float> input, long start, ReadOnlySpan<float> coefficients)
    {
        float sum = 0;
        for (int m = 0; m < coefficients.Length; m++)
        {
            long i = start + m;
            if (i >= 0 && i < input.Length)
            {
                sum += input[(int)i] * coefficients[m];
            }
        }
        return sum;
    }

    // Modified Bessel function of the first kind, order 0 (power series; converges fast for the β used here).
    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 100 && term > 1e-17 * sum; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
        }
        return sum;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }
}
