using KimiAudio.Model.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.Whisper;

/// <summary>
/// The Whisper(-large-v3) encoder as Kimi-Audio runs it: conv1 (k3, p1) → GELU → conv2 (k3, s2, p1) → GELU → + the stored
/// position table (all rows, used as stored) → pre-LN layers with full bidirectional attention (no mask) → layer_norm.
/// Field names are the checkpoint's keys under <c>encoder.</c>.
/// </summary>
public sealed class WhisperEncoder : Module<Tensor, Tensor>
{
    private readonly Conv1d conv1, conv2;
    private readonly Embedding embed_positions;
    private readonly ModuleList<WhisperEncoderLayer> layers;
    private readonly LayerNorm layer_norm;

    public WhisperConfig Config { get; }

    public WhisperEncoder(WhisperConfig config) : base(nameof(WhisperEncoder))
    {
        Config = config;
        conv1 = Conv1d(config.NumMelBins, config.DModel, 3, stride: 1, padding: 1);
        conv2 = Conv1d(config.DModel, config.DModel, 3, stride: 2, padding: 1);
        embed_positions = Embedding(config.MaxSourcePositions, config.DModel);
        layers = new ModuleList<WhisperEncoderLayer>();
        for (int i = 0; i < config.EncoderLayers; i++)
            layers.Add(new WhisperEncoderLayer(config.DModel, config.EncoderAttentionHeads, config.EncoderFfnDim));
        layer_norm = LayerNorm(config.DModel, eps: 1e-5);
        RegisterComponents();
    }

    /// <summary>Encodes log-mel segments [B, n_mels, 2·max_source_positions] into [B, max_source_positions, d].</summary>
    public override Tensor forward(Tensor mel)
    {
        if (mel.dim() != 3 || mel.shape[1] != Config.NumMelBins || mel.shape[2] != Config.InputFrames)
            throw new ArgumentException(
                $"Whisper encoder input must be [B, {Config.NumMelBins}, {Config.InputFrames}], got [{string.Join(", ", mel.shape)}]", nameof(mel));
        using var scope = NewDisposeScope();
        var dtype = conv1.weight!.dtype;
        var x = functional.gelu(conv1.call(mel.to(dtype)));
        x = functional.gelu(conv2.call(x));
        var h = x.permute(0, 2, 1) + embed_positions.weight!;
        foreach (var layer in layers) h = layer.call(h, null);
        return Norms.LayerNormFloat32(layer_norm, h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loads a <c>whisper-large-v3/</c> folder (config.json + model.safetensors or a sharded index): the encoder keys under
    /// <c>encoder.</c> or <c>model.encoder.</c>, strictly; decoder keys are skipped.
    /// </summary>
    public static WhisperEncoder Load(string folder, Device device, ScalarType dtype)
    {
        var config = WhisperConfig.Load(folder);
        using var source = CheckpointFiles.Open(folder);
        var prefix = source.Keys.Any(k => k.StartsWith("model.encoder.", StringComparison.Ordinal)) ? "model.encoder." : "encoder.";
        var encoder = new WhisperEncoder(config);
        try
        {
            encoder.to(dtype).to(device);
            StateDictLoader.Load(encoder, source, prefix);
            encoder.eval();
            foreach (var p in encoder.parameters()) p.requires_grad = false;   // inference only: never record graphs
            return encoder;
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }
}
