using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.GlmTokenizer;
using KimiAudio.Model.Whisper;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.FrontEnd;

public sealed class TinyCheckpointTests : IDisposable
{
    private readonly List<string> roots = [];

    public void Dispose()
    {
        foreach (var r in roots) Directory.Delete(r, recursive: true);
    }

    private (string Whisper, string Glm) WriteBoth(long seed, int dModel = 32)
    {
        var root = Directory.CreateTempSubdirectory("tiny-fe-").FullName;
        roots.Add(root);
        var whisper = Path.Combine(root, "whisper-large-v3");
        var glm = Path.Combine(root, "glm-4-voice-tokenizer");
        TinyWhisperCheckpoint.Write(whisper, seed, dModel: dModel, layers: 2, heads: 4, ffnDim: 2 * dModel);
        TinyGlmTokenizerCheckpoint.Write(glm, seed, dModel: dModel, heads: 2, ffnDim: 2 * dModel, codebookSize: 32);
        return (whisper, glm);
    }

    [Fact]
    public void Written_tiny_checkpoints_load_strictly_and_run()
    {
        var (whisper, glm) = WriteBoth(11);
        using (var src = TensorSource.OpenFile(Path.Combine(whisper, "model.safetensors")))
        {
            Assert.Contains("encoder.layers.1.self_attn.q_proj.bias", src.Keys);
            Assert.DoesNotContain("encoder.layers.1.self_attn.k_proj.bias", src.Keys);
            Assert.Contains(src.Keys, k => k.StartsWith("decoder.", StringComparison.Ordinal));
            using var pos = src.Read("encoder.embed_positions.weight");
            using var sinus = TinyWeights.Sinusoids(1500, 32);
            Assert.True(pos.eq(sinus).all().item<bool>());
        }
        using (var src = TensorSource.OpenFile(Path.Combine(glm, "model.safetensors")))
        {
            Assert.Contains("embed_positions2.weight", src.Keys);
            Assert.Contains("ema_count", src.Keys);
            Assert.Contains("codebook.weight", src.Keys);
            Assert.DoesNotContain(src.Keys, k => k.StartsWith("layers.2.", StringComparison.Ordinal));
        }

        using var fe = AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32);
        var x = TinyFrontEnd.Signal(3 * 16000 + 500, 5);
        using var features = fe.ContinuousFeatures(x);
        Assert.Equal(new long[] { 38, 128 }, features.shape);
        Assert.False(features.isnan().any().item<bool>());
        var ids = fe.Tokenize(x);
        Assert.Equal(38, ids.Length);
        Assert.All(ids, id => Assert.InRange(id, 0, 31));
        Assert.True(ids.Distinct().Count() > 3, $"ids should vary along the audio: {string.Join(",", ids)}");
    }

    [Fact]
    public void The_same_seed_writes_the_same_weights_and_another_seed_does_not()
    {
        var a = WriteBoth(7);
        var b = WriteBoth(7);
        var c = WriteBoth(8);
        byte[] Bytes(string folder) => File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(Bytes(a.Whisper), Bytes(b.Whisper));
        Assert.Equal(Bytes(a.Glm), Bytes(b.Glm));
        Assert.NotEqual(Bytes(a.Whisper), Bytes(c.Whisper));
        Assert.NotEqual(Bytes(a.Glm), Bytes(c.Glm));
    }

    private static void Rewrite(string file, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
    {
        Dictionary<string, Tensor> tensors;
        using (var src = TensorSource.OpenFile(file))
            tensors = src.Keys.ToDictionary(k => k, src.Read);
        SafetensorsWriter.Write(file, edit(tensors));
    }

    [Fact]
    public void A_missing_encoder_tensor_is_named()
    {
        var (whisper, _) = WriteBoth(21);
        Rewrite(Path.Combine(whisper, "model.safetensors"), t => { t.Remove("encoder.layers.1.fc2.bias"); return t; });
        var ex = Assert.Throws<CheckpointException>(() => WhisperEncoder.Load(whisper, CPU, ScalarType.Float32));
        Assert.Contains("encoder.layers.1.fc2.bias", ex.Message);
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void A_mis_shaped_tensor_is_named_with_both_shapes()
    {
        var (whisper, _) = WriteBoth(22);
        var cfg = Path.Combine(whisper, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"encoder_ffn_dim\": 64", "\"encoder_ffn_dim\": 48"));
        var ex = Assert.Throws<CheckpointException>(() => WhisperEncoder.Load(whisper, CPU, ScalarType.Float32));
        Assert.Contains("encoder.layers.0.fc1.weight", ex.Message);
        Assert.Contains("[64, 32]", ex.Message);
        Assert.Contains("[48, 32]", ex.Message);
    }

    [Fact]
    public void An_unexpected_tokenizer_tensor_is_named_and_the_known_extras_are_ignored()
    {
        var (_, glm) = WriteBoth(23);
        using (var ok = WhisperVQEncoder.Load(glm, CPU, ScalarType.Float32))
            Assert.Equal(2, ok.Config.QuantizePosition);
        Rewrite(Path.Combine(glm, "model.safetensors"), t => { t["layers.2.fc1.bias"] = zeros(64); return t; });
        var ex = Assert.Throws<CheckpointException>(() => WhisperVQEncoder.Load(glm, CPU, ScalarType.Float32));
        Assert.Contains("layers.2.fc1.bias", ex.Message);
        Assert.Contains("unexpected", ex.Message);
    }

    [Fact]
    public void A_model_encoder_prefix_loads_the_same_weights()
    {
        var (whisper, glm) = WriteBoth(24);
        var x = TinyFrontEnd.Signal(20000, 6);
        Tensor expected;
        using (var fe = AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32))
            expected = fe.ContinuousFeatures(x);
        Rewrite(Path.Combine(whisper, "model.safetensors"), t => t.ToDictionary(kv => "model." + kv.Key, kv => kv.Value));
        using var fe2 = AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32);
        using var actual = fe2.ContinuousFeatures(x);
        Assert.True(actual.eq(expected).all().item<bool>());
        expected.Dispose();
    }

    [Fact]
    public void A_missing_config_field_is_reported_with_its_file()
    {
        var (whisper, glm) = WriteBoth(25);
        var cfg = Path.Combine(glm, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"quantize_vocab_size\"", "\"renamed_vocab_size\""));
        var ex = Assert.Throws<InvalidDataException>(() => AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32));
        Assert.Contains("quantize_vocab_size", ex.Message);
        Assert.Contains("config.json", ex.Message);
    }
}

public class GlmConfigVariantTests
{
    [Fact]
    public void Pooling_before_the_last_layer_still_gives_one_token_per_1280_samples()
    {
        var root = Directory.CreateTempSubdirectory("tiny-glm-").FullName;
        using var cleanup = new TempFolders(root);
        TinyGlmTokenizerCheckpoint.Write(root, 31, dModel: 32, heads: 2, ffnDim: 64, quantizePosition: 3, poolingPosition: 1, codebookSize: 16);
        using var glm = WhisperVQEncoder.Load(root, CPU, ScalarType.Float32);
        Assert.Equal(1, glm.Config.PoolingPosition);
        using var whisperDir = new TempWhisper();
        using var fe = AudioFrontEnd.Load(whisperDir.Folder, root, CPU, ScalarType.Float32);
        var x = TinyFrontEnd.Signal(80000, 12);
        using var enc = fe.GlmEncode(x);
        Assert.Equal(63, enc.Ids.Length);
        Assert.Equal(new long[] { 63, 32 }, enc.Pooled.shape);
        Assert.False(enc.Pooled.isnan().any().item<bool>());
        Assert.All(enc.Ids, id => Assert.InRange(id, 0, 15));
    }

    private sealed class TempWhisper : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("tiny-wh-").FullName;
        public TempWhisper() => TinyWhisperCheckpoint.Write(Folder, 1, dModel: 32, layers: 1, heads: 2, ffnDim: 64);
        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }
}

public class GlmFullModelLayoutTests
{
    [Fact]
    public void A_full_whisper_vq_model_file_loads_its_quantizer_half_under_model_encoder()
    {
        var (whisper, glm) = (Directory.CreateTempSubdirectory("wh-").FullName, Directory.CreateTempSubdirectory("glm-").FullName);
        using var cleanup = new TempFolders(whisper, glm);
        TinyWhisperCheckpoint.Write(whisper, 1, dModel: 32, layers: 1, heads: 2, ffnDim: 64);
        TinyGlmTokenizerCheckpoint.Write(glm, 41, dModel: 32, heads: 2, ffnDim: 64, codebookSize: 16);
        var x = TinyFrontEnd.Signal(30000, 13);
        long[] expected;
        using (var fe = AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32))
            expected = fe.Tokenize(x);

        var file = Path.Combine(glm, "model.safetensors");
        Dictionary<string, Tensor> tensors;
        using (var src = TensorSource.OpenFile(file))
            tensors = src.Keys.ToDictionary(k => "model.encoder." + k, src.Read);
        tensors["model.encoder.layers.2.fc1.bias"] = zeros(64);      // a layer after the quantizer
        tensors["model.encoder.layer_norm.weight"] = ones(32);
        tensors["model.decoder.embed_tokens.weight"] = zeros(8, 32);
        SafetensorsWriter.Write(file, tensors);

        using var fe2 = AudioFrontEnd.Load(whisper, glm, CPU, ScalarType.Float32);
        Assert.Equal(expected, fe2.Tokenize(x));
    }
}

/// <summary>Deletes test folders when disposed.</summary>
internal sealed class TempFolders(params string[] folders) : IDisposable
{
    public void Dispose()
    {
        foreach (var f in folders) Directory.Delete(f, recursive: true);
    }
}
