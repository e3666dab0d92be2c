using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Whisper;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KimiAudio.Model.GlmTokenizer;

/// <summary>What the quantizer saw and chose, for a batch of feature rows.</summary>
/// <param name="Pooled">encoder states at the quantizer input [B, T', d] (float32).</param>
/// <param name="TokenMask">valid tokens [B, T'] (bool): the frame mask reduced by the conv stride and the pooling kernel.</param>
/// <param name="Ids">raw codebook ids [B, T'] (int64), no vocabulary offset.</param>
public sealed record VqOutput(Tensor Pooled, Tensor TokenMask, Tensor Ids) : IDisposable
{
    public void Dispose()
    {
        Pooled.Dispose();
        TokenMask.Dispose();
        Ids.Dispose();
    }
}

/// <summary>
/// GLM-4-Voice whisper-VQ tokenizer encoder (quantizer half): conv stem (causal: left-only zero padding of 2), exact GELU,
/// + stored positions, block-causal masked pre-LN layers, pooling after <c>pooling_position</c> layers, nearest codebook
/// row at <c>quantize_position</c>. Field names are the checkpoint's top-level keys.
/// </summary>
public sealed class WhisperVQEncoder : Module<Tensor, Tensor, VqOutput>
{
    private readonly Conv1d conv1, conv2;
    private readonly Embedding embed_positions;
    private readonly ModuleList<WhisperEncoderLayer> layers;
    private readonly Embedding codebook;

    public WhisperVQConfig Config { get; }

    public WhisperVQEncoder(WhisperVQConfig config) : base(nameof(WhisperVQEncoder))
    {
        Config = config;
        // causal stem: the padding is applied by hand on the left only
        long pad = config.EncoderCausalConvolution ? 0 : 1;
        conv1 = Conv1d(config.NumMelBins, config.DModel, 3, stride: 1, padding: pad);
        conv2 = Conv1d(config.DModel, config.DModel, 3, stride: 2, padding: pad);
        embed_positions = Embedding(config.MaxSourcePositions, config.DModel);
        layers = new ModuleList<WhisperEncoderLayer>();
        for (int i = 0; i < config.QuantizePosition; i++)
            layers.Add(new WhisperEncoderLayer(config.DModel, config.EncoderAttentionHeads, config.EncoderFfnDim));
        codebook = Embedding(config.QuantizeVocabSize, config.DModel);
        RegisterComponents();
    }

    private Tensor Conv(Conv1d conv, Tensor x) =>
        conv.call(Config.EncoderCausalConvolution ? functional.pad(x, [2, 0]) : x);

    /// <summary>
    /// Boolean attention mask [B, 1, T, T]: key j is allowed for query i iff key j is valid and (j ≤ i or i and j lie in the
    /// same block of <paramref name="blockSize"/> frames). Without a block size: every valid key.
    /// </summary>
    public static Tensor BlockCausalMask(Tensor valid, int? blockSize)
    {
        using var scope = NewDisposeScope();
        long t = valid.shape[1];
        var keys = valid.to(ScalarType.Bool).unsqueeze(1);                                       // [B, 1, T]
        if (blockSize is null) return keys.unsqueeze(1).expand(-1, 1, t, -1).MoveToOuterDisposeScope();
        var pos = arange(t, ScalarType.Int64, valid.device);
        var causal = pos.unsqueeze(0).le(pos.unsqueeze(1));                                       // [i, j]: j <= i
        var block = pos.div(blockSize.Value, RoundingMode.floor);
        var sameBlock = block.unsqueeze(1).eq(block.unsqueeze(0));
        var pattern = causal.logical_or(sameBlock).unsqueeze(0);                                  // [1, T, T]
        return pattern.logical_and(keys).unsqueeze(1).MoveToOuterDisposeScope();                  // [B, 1, T, T]
    }

    private Tensor AttentionMask(Tensor valid, int? blockSize)
    {
        if (!Config.CausalAttention) return BlockCausalMask(valid, blockSize);
        // reference: causal layers get no padding mask, only the triangle
        using var scope = NewDisposeScope();
        long t = valid.shape[1];
        var pos = arange(t, ScalarType.Int64, valid.device);
        return pos.unsqueeze(0).le(pos.unsqueeze(1)).unsqueeze(0).unsqueeze(0)
            .expand(valid.shape[0], 1, t, t).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the tokenizer on GLM features [B, n_mels, F] with their frame mask [B, F] (1 = real audio) and returns the
    /// quantizer input, the valid-token mask and the ids.
    /// </summary>
    public override VqOutput forward(Tensor features, Tensor frameMask)
    {
        if (features.dim() != 3 || features.shape[1] != Config.NumMelBins)
            throw new ArgumentException($"GLM tokenizer input must be [B, {Config.NumMelBins}, F], got [{string.Join(", ", features.shape)}]", nameof(features));
        if (frameMask.dim() != 2 || frameMask.shape[0] != features.shape[0] || frameMask.shape[1] != features.shape[2])
            throw new ArgumentException($"frame mask [{string.Join(", ", frameMask.shape)}] does not match features [{string.Join(", ", features.shape)}]", nameof(frameMask));
        using var scope = NewDisposeScope();
        var dtype = conv1.weight!.dtype;
        var x = functional.gelu(Conv(conv1, features.to(dtype)));
        x = functional.gelu(Conv(conv2, x));
        long t = x.shape[2];
        if (t > Config.MaxSourcePositions)
            throw new ArgumentException($"{features.shape[2]} feature frames give {t} encoder frames, more than the {Config.MaxSourcePositions} positions of the tokenizer");
        var h = x.permute(0, 2, 1) + embed_positions.weight!.narrow(0, 0, t);
        var valid = frameMask.to(ScalarType.Bool, h.device).slice(1, 0, frameMask.shape[1], 2);  // [B, T] (stride of conv2)
        int? block = Config.QuantizeCausalBlockSize;
        var mask = AttentionMask(valid, block);
        for (int i = 0; i < layers.Count; i++)
        {
            h = layers[i].call(h, mask);
            if (Config.PoolingKernelSize is int k && i + 1 == Config.PoolingPosition)
            {
                var p = h.permute(0, 2, 1);
                if (p.shape[2] % k != 0) p = functional.pad(p, [0, k - p.shape[2] % k]);
                p = Config.PoolingType == "max" ? functional.max_pool1d(p, k) : functional.avg_pool1d(p, k);
                h = p.permute(0, 2, 1);
                valid = valid.slice(1, 0, valid.shape[1], k);
                if (block is not null) block /= k;
                mask = AttentionMask(valid, block);
            }
        }
        var pooled = h.to(ScalarType.Float32).contiguous();
        var ids = Quantize(pooled);
        return new VqOutput(pooled.MoveToOuterDisposeScope(), valid.MoveToOuterDisposeScope(), ids.MoveToOuterDisposeScope());
    }

    /// <summary>Nearest codebook row in float32 with the reference's distance form ‖c‖² + ‖x‖² − 2·x·c (addmm); first index on ties.</summary>
    public Tensor Quantize(Tensor states)
    {
        using var scope = NewDisposeScope();
        var cb = codebook.weight!.to(ScalarType.Float32);
        var flat = states.to(ScalarType.Float32).reshape(-1, cb.shape[1]);
        var cbSq = cb.pow(2).sum(1);
        var xSq = flat.pow(2).sum(1, keepdim: true);
        var distances = addmm(cbSq + xSq, flat, cb.t(), beta: 1.0f, alpha: -2.0f);
        var ids = distances.argmin(1);
        return ids.reshape(states.shape[0], states.shape[1]).MoveToOuterDisposeScope();
    }

    /// <summary>Keys of the tokenizer checkpoint that inference does not use.</summary>
    /// <param name="key">checkpoint key without the encoder prefix.</param>
    /// <param name="config">tokenizer config.</param>
    /// <param name="fullModel">the file holds a whole WhisperVQ model (keys under <c>model.encoder.</c>): its later layers and
    /// final norm are skipped, as GLM-4-Voice's own quantizer loader does.</param>
    public static bool IsUnusedKey(string key, WhisperVQConfig config, bool fullModel = false)
    {
        if (key is "embed_positions2.weight" or "ema_count" or "ema_weight") return true;
        if (config.QuantizeEncoderOnly && !fullModel) return false;
        // a full encoder checkpoint: layers after the quantizer and the final norm are never run
        if (key.StartsWith("layer_norm.", StringComparison.Ordinal)) return true;
        if (key.StartsWith("layers.", StringComparison.Ordinal))
        {
            var rest = key.AsSpan("layers.".Length);
            int dot = rest.IndexOf('.');
            return dot > 0 && int.TryParse(rest[..dot], out var n) && n >= config.QuantizePosition;
        }
        return false;
    }

    private const string FullModelPrefix = "model.encoder.";

    /// <summary>
    /// Loads a <c>glm-4-voice-tokenizer/</c> folder (config.json + model.safetensors), strictly: top-level keys (the
    /// tokenizer repo's layout), or keys under <c>model.encoder.</c> of a full WhisperVQ model.
    /// </summary>
    public static WhisperVQEncoder Load(string folder, Device device, ScalarType dtype)
    {
        var config = WhisperVQConfig.Load(folder);
        using var source = CheckpointFiles.Open(folder);
        // the tokenizer repo stores top-level keys; a full WhisperVQ model stores them under model.encoder.
        var prefix = source.Keys.Any(k => k.StartsWith(FullModelPrefix, StringComparison.Ordinal)) ? FullModelPrefix : "";
        var encoder = new WhisperVQEncoder(config);
        try
        {
            encoder.to(dtype).to(device);
            StateDictLoader.Load(encoder, source, prefix, k => IsUnusedKey(k[prefix.Length..], config, fullModel: prefix.Length > 0));
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
