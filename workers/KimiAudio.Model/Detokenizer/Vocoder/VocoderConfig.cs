using KimiAudio.Model.Checkpoints;

namespace KimiAudio.Model.Detokenizer.Vocoder;

/// <summary>BigVGAN generator hyper-parameters from <c>vocoder/config.json</c>.</summary>
public sealed record VocoderConfig
{
    public required string Resblock { get; init; }
    public required int NumMels { get; init; }
    public required int[] UpsampleRates { get; init; }
    public required int[] UpsampleKernelSizes { get; init; }
    public required int UpsampleInitialChannel { get; init; }
    public required int[] ResblockKernelSizes { get; init; }
    public required int[][] ResblockDilationSizes { get; init; }
    /// <summary>"snake" or "snakebeta".</summary>
    public required string Activation { get; init; }
    public required bool SnakeLogscale { get; init; }
    public required bool UseTanhAtFinal { get; init; }
    public required bool UseBiasAtFinal { get; init; }
    public required int SamplingRate { get; init; }

    /// <summary>Samples per mel frame (product of the upsample rates).</summary>
    public int HopLength => UpsampleRates.Aggregate(1, (a, b) => a * b);

    public static VocoderConfig Load(string jsonPath)
    {
        var json = JsonConfig.Open(jsonPath, m => new CheckpointException(m));
        var cfg = new VocoderConfig
        {
            Resblock = json.Text("resblock"),
            NumMels = json.Int("num_mels"),
            UpsampleRates = json.IntArray("upsample_rates"),
            UpsampleKernelSizes = json.IntArray("upsample_kernel_sizes"),
            UpsampleInitialChannel = json.Int("upsample_initial_channel"),
            ResblockKernelSizes = json.IntArray("resblock_kernel_sizes"),
            ResblockDilationSizes = json.IntArrays("resblock_dilation_sizes"),
            Activation = json.String("activation"),
            SnakeLogscale = json.BoolOr("snake_logscale", false),
            UseTanhAtFinal = json.BoolOr("use_tanh_at_final", true),
            UseBiasAtFinal = json.BoolOr("use_bias_at_final", true),
            SamplingRate = json.Int("sampling_rate"),
        };
        if (cfg.Resblock != "1")
            throw new CheckpointException($"{jsonPath}: resblock '{cfg.Resblock}' is not supported (the reference AMPBlock2.forward returns nothing, so only resblock \"1\" runs)");
        if (cfg.Activation is not ("snake" or "snakebeta"))
            throw new CheckpointException($"{jsonPath}: activation '{cfg.Activation}' is not snake or snakebeta");
        if (cfg.UpsampleRates.Length != cfg.UpsampleKernelSizes.Length)
            throw new CheckpointException($"{jsonPath}: upsample_rates and upsample_kernel_sizes differ in length");
        if (cfg.ResblockKernelSizes.Length != cfg.ResblockDilationSizes.Length)
            throw new CheckpointException($"{jsonPath}: resblock_kernel_sizes and resblock_dilation_sizes differ in length");
        return cfg;
    }
}
