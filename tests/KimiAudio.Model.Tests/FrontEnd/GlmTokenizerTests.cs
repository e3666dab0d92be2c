using KimiAudio.Model.GlmTokenizer;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

public class GlmTokenizerTests
{
    private static bool[,] Allowed(Tensor mask)
    {
        long t = mask.shape[^1];
        var r = new bool[t, t];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++)
                r[i, j] = mask[0, 0, i, j].item<bool>();
        return r;
    }

    private static int[] Keys(bool[,] a, int row) => Enumerable.Range(0, a.GetLength(1)).Where(j => a[row, j]).ToArray();

    [Fact]
    public void Block_causal_mask_sees_the_past_and_its_own_block()
    {
        using var valid = ones([1, 8], ScalarType.Bool);
        using var mask = WhisperVQEncoder.BlockCausalMask(valid, 4);
        var a = Allowed(mask);
        Assert.Equal([0, 1, 2, 3], Keys(a, 1));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], Keys(a, 5));
        Assert.Equal([0, 1, 2, 3], Keys(a, 0));
    }

    [Fact]
    public void Block_causal_mask_never_allows_padded_keys()
    {
        using var valid = tensor(new[] { true, true, true, true, true, true, false, false }).unsqueeze(0);
        using var mask = WhisperVQEncoder.BlockCausalMask(valid, 4);
        var a = Allowed(mask);
        Assert.Equal([0, 1, 2, 3, 4, 5], Keys(a, 5));
        Assert.Equal([0, 1, 2, 3, 4, 5], Keys(a, 7));
    }

    [Fact]
    public void Quantizer_picks_the_nearest_codebook_row()
    {
        var cfg = new WhisperVQConfig
        {
            DModel = 4, EncoderAttentionHeads = 1, EncoderFfnDim = 8, EncoderLayers = 1, NumMelBins = 8, MaxSourcePositions = 16,
            QuantizePosition = 1, QuantizeVocabSize = 3, PoolingPosition = 1, PoolingKernelSize = 4, QuantizeCausalBlockSize = 8,
            EncoderCausalConvolution = true,
        };
        using var enc = new WhisperVQEncoder(cfg);
        using (no_grad())
            enc.get_parameter("codebook.weight")!.copy_(tensor(new float[] { 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, -10, 0 }).reshape(3, 4));
        using var x = tensor(new float[] { 9, 1, 0, 0, 0.1f, 0, 0, 0, 0, 0, -6, 1 }).reshape(1, 3, 4);
        using var ids = enc.Quantize(x);
        Assert.Equal([1L, 0L, 2L], ids[0].data<long>().ToArray());
    }
}
