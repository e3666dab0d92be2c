namespace KimiAudio.Audio.Tests;

public static class Signals
{
    public static double[] Sine(double frequency, int sampleRate, double seconds, double amplitude, double phase = 0)
    {
        var s = new double[(int)Math.Round(seconds * sampleRate)];
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = amplitude * Math.Sin(2 * Math.PI * frequency * i / sampleRate + phase);
        }
        return s;
    }

    /// <summary>Interleaves equally long channels.</summary>
    public static double[] Interleave(params double[][] channels)
    {
        int frames = channels[0].Length;
        var x = new double[frames * channels.Length];
        for (int f = 0; f < frames; f++)
        {
            for (int c = 0; c < channels.Length; c++)
            {
                x[f * channels.Length + c] = channels[c][f];
            }
        }
        return x;
    }

    public static double Rms(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (var v in x)
        {
            sum += (double)v * v;
        }
        return x.Length == 0 ? 0 : Math.Sqrt(sum / x.Length);
    }

    /// <summary>The middle of a signal, leaving out <paramref name="fraction"/> at each end (filter edges).</summary>
    public static ReadOnlySpan<float> Interior(float[] x, double fraction = 0.1)
    {
        int skip = (int)(x.Length * fraction);
        return x.AsSpan(skip, x.Length - 2 * skip);
    }

    /// <summary>Frequency of a clean tone from its rising zero crossings (interpolated between samples).</summary>
    public static double ToneFrequency(ReadOnlySpan<float> x, int sampleRate)
    {
        double first = -1, last = -1;
        int crossings = 0;
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i - 1] < 0 && x[i] >= 0)
            {
                double t = i - 1 + x[i - 1] / (x[i - 1] - x[i]);
                if (first < 0)
                {
                    first = t;
                }
                last = t;
                crossings++;
            }
        }
        return crossings < 2 ? 0 : (crossings - 1) * sampleRate / (last - first);
    }
}
