using System.Text.Json;
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
        if (!File.Exists(jsonPath)) throw new CheckpointException($"vocoder config not found: {jsonPath}");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
        var r = doc.RootElement;
        JsonElement Get(string k) => r.TryGetProperty(k, out var v) ? v : throw new CheckpointException($"{jsonPath}: missing key {k}");
        bool OptBool(string k, bool dflt) => r.TryGetProperty(k, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetBoolean() : dflt;
        int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var resblock = Get("resblock").ValueKind == JsonValueKind.Number ? Get("resblock").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) : Get("resblock").GetString()!;
        var cfg = new VocoderConfig
        {
            Resblock = resblock,
            NumMels = Get("num_mels").GetInt32(),
            UpsampleRates = Ints(Get("upsample_rates")),
            UpsampleKernelSizes = Ints(Get("upsample_kernel_sizes")),
            UpsampleInitialChannel = Get("upsample_initial_channel").GetInt32(),
            ResblockKernelSizes = Ints(Get("resblock_kernel_sizes")),
            ResblockDilationSizes = Get("resblock_dilation_sizes").EnumerateArray().Select(Ints).ToArray(),
            Activation = Get("activation").GetString() ?? "",
            SnakeLogscale = OptBool("snake_logscale", false),
            UseTanhAtFinal = OptBool("use_tanh_at_final", true),
            UseBiasAtFinal = OptBool("use_bias_at_final", true),
            SamplingRate = Get("sampling_rate").GetInt32(),
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
