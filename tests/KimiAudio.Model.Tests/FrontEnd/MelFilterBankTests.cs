using KimiAudio.Model.FrontEnd;

namespace KimiAudio.Model.Tests.FrontEnd;

public class MelFilterBankTests
{
    private static float[,] Whisper128(MelFilterBank.Rounding r) => MelFilterBank.Compute(16000, 400, 128, 0, 8000, r);

    [Fact]
    public void Whisper_128_bin_filterbank_matches_the_reference_table_values()
    {
        var w = Whisper128(MelFilterBank.Rounding.Librosa);
        Assert.Equal(128, w.GetLength(0));
        Assert.Equal(201, w.GetLength(1));
        double sum = 0;
        foreach (var v in w) sum += v;
        // the spec's value is a float32 sum printed to 8 digits; the float64 sum of the same weights is 3.19098554
        Assert.InRange(sum, 3.1909854 - 3e-7, 3.1909854 + 3e-7);
        // row 0: a single non-zero weight, at bin 1
        for (int k = 0; k < 201; k++)
        {
            if (k == 1) Assert.Equal(0.012373987f, w[0, k], 8);
            else Assert.Equal(0f, w[0, k]);
        }
    }

    [Fact]
    public void Hf_float64_filterbank_differs_from_the_librosa_table_by_rounding_only()
    {
        var a = Whisper128(MelFilterBank.Rounding.Librosa);
        var b = Whisper128(MelFilterBank.Rounding.Float64ThenCast);
        double max = 0;
        int differing = 0;
        for (int m = 0; m < 128; m++)
            for (int k = 0; k < 201; k++)
            {
                max = Math.Max(max, Math.Abs(a[m, k] - b[m, k]));
                if (a[m, k] != b[m, k]) differing++;
            }
        Assert.True(max <= 4e-9, $"max difference {max}");
        Assert.True(differing > 0, "the two roundings should not be bit-identical everywhere");
    }

    [Fact]
    public void Filters_are_triangles_that_cover_the_band_with_slaney_area_norm()
    {
        var w = Whisper128(MelFilterBank.Rounding.Float64ThenCast);
        for (int m = 0; m < 128; m++)
        {
            // every filter is non-empty and unimodal
            var row = Enumerable.Range(0, 201).Select(k => w[m, k]).ToArray();
            Assert.Contains(row, v => v > 0);
            int peak = Array.IndexOf(row, row.Max());
            for (int k = 1; k <= peak; k++) Assert.True(row[k] >= row[k - 1]);
            for (int k = peak + 1; k < 201; k++) Assert.True(row[k] <= row[k - 1]);
        }
        Assert.Equal(15.0, MelFilterBank.HzToMel(1000), 12);
        Assert.Equal(8000.0, MelFilterBank.MelToHz(MelFilterBank.HzToMel(8000)), 9);
        Assert.Equal(440.0, MelFilterBank.MelToHz(MelFilterBank.HzToMel(440)), 9);
    }
}
