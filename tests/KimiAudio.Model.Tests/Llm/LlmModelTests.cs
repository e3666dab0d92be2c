using System.Text.Json.Nodes;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Llm;

[Collection("Torch")]
public class LlmModelTests
{
    private static TempDir CopyOfTinyA()
    {
        var temp = new TempDir("tinya-");
        foreach (var f in Directory.GetFiles(TestData.TinyA)) File.Copy(f, Path.Combine(temp.Path, Path.GetFileName(f)));
        return temp;
    }

    [Fact]
    public void Loads_every_key_through_the_index_and_ignores_stale_inv_freq()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        var c = llm.Config;
        int learned = 12 * (c.NumHiddenLayers + c.MimoLayers) + 11;
        Assert.Equal(learned, llm.state_dict().Count);
        using var src = TensorSource.OpenIndex(Path.Combine(TestData.TinyA, "model.safetensors.index.json"));
        Assert.Equal(learned + c.NumHiddenLayers + c.MimoLayers, src.Keys.Count);
        Assert.True(llm.state_dict()["model.mimo_layers.1.self_attn.k_proj.bias"].allclose(src.Read("model.mimo_layers.1.self_attn.k_proj.bias")));
    }

    [Fact]
    public void Missing_or_mis_shaped_keys_stop_loading_with_the_key_and_shapes()
    {
        using var copy = CopyOfTinyA();
        var dir = copy.Path;
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.safetensors.index.json")))!;
        index["weight_map"]!.AsObject().Remove("model.mimo_norm.weight");
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString());
        var ex = Assert.Throws<CheckpointException>(() => KimiaLlm.Load(dir, CPU, ScalarType.Float32));
        Assert.Contains("model.mimo_norm.weight", ex.Message);

        using var copy2 = CopyOfTinyA();
        var dir2 = copy2.Path;
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir2, "config.json")))!;
        cfg["intermediate_size"] = 96;
        File.WriteAllText(Path.Combine(dir2, "config.json"), cfg.ToJsonString());
        var ex2 = Assert.Throws<CheckpointException>(() => KimiaLlm.Load(dir2, CPU, ScalarType.Float32));
        Assert.Contains("mlp.", ex2.Message);
        Assert.Contains("[128, 64]", ex2.Message);
        Assert.Contains("[96, 64]", ex2.Message);
    }

    [Fact]
    public void Cached_decoding_equals_one_full_forward()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var g = new Generator(3, CPU);
        int l = 20;
        var audio = randint(0, llm.Config.VocabSize, [1, l], generator: g);
        var text = randint(0, llm.Config.TokenOffset, [1, l], generator: g);
        var pos = arange(l, dtype: ScalarType.Int64).unsqueeze(0);
        var full = llm.Forward(llm.Embed(audio, text, null), pos, null, null, allPositions: true);

        using var cache = llm.NewCache(1, l);
        int p = 12;
        var pre = llm.Forward(llm.Embed(audio[.., ..p], text[.., ..p], null), pos[.., ..p], null, cache);
        Assert.True(pre.Text[0].allclose(full.Text[0, p - 1], 1e-5, 1e-5));
        for (int i = p; i < l; i++)
        {
            var step = llm.Forward(llm.Embed(audio[.., i..(i + 1)], text[.., i..(i + 1)], null), pos[.., i..(i + 1)], null, cache);
            Assert.True(step.Text[0].allclose(full.Text[0, i], 1e-5, 1e-5), $"text logits differ at {i}");
            Assert.True(step.Audio[0].allclose(full.Audio[0, i], 1e-5, 1e-5), $"audio logits differ at {i}");
        }
    }

    [Fact]
    public void Layers_after_the_fork_feed_only_the_text_head_and_mimo_only_the_audio_head()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(4, CPU);
        var audio = randint(0, llm.Config.VocabSize, [1, 8], generator: g);
        var text = randint(0, llm.Config.TokenOffset, [1, 8], generator: g);
        var pos = arange(8, dtype: ScalarType.Int64).unsqueeze(0);
        LlmLogits Run() => llm.Forward(llm.Embed(audio, text, null), pos, null, null);
        var before = Run();
        var sd = llm.state_dict();
        int last = llm.Config.NumHiddenLayers - 1;
        Assert.True(last > llm.Config.MimoFromLayerIndex);
        sd[$"model.layers.{last}.mlp.down_proj.weight"].add_(0.5);
        var afterTrunk = Run();
        Assert.False(afterTrunk.Text.allclose(before.Text));
        Assert.True(afterTrunk.Audio.allclose(before.Audio));
        sd["model.mimo_norm.weight"].mul_(1.5);
        var afterMimo = Run();
        Assert.True(afterMimo.Text.allclose(afterTrunk.Text));
        Assert.False(afterMimo.Audio.allclose(afterTrunk.Audio));
        sd[$"model.layers.{llm.Config.MimoFromLayerIndex}.mlp.up_proj.weight"].add_(0.5);
        var afterShared = Run();
        Assert.False(afterShared.Text.allclose(afterMimo.Text));
        Assert.False(afterShared.Audio.allclose(afterMimo.Audio));
    }

    [Fact]
    public void Rope_half_split_matches_the_spec_vector_and_inv_freq_follows_theta()
    {
        using var scope = NewDisposeScope();
        var x = arange(8, dtype: ScalarType.Float32).reshape(1, 1, 1, 8);
        var inv = Rotary.InverseFrequencies(1e4, 8, CPU);
        var (cos, sin) = Rotary.Tables(tensor(new long[] { 1 }).reshape(1, 1), inv, ScalarType.Float32);
        var y = Rotary.Apply(x, cos, sin).reshape(8).data<float>().ToArray();
        float[] want = [-3.36588f, 0.49584f, 1.93990f, 2.99300f, 2.16121f, 5.07485f, 6.01970f, 7.00300f];
        for (int i = 0; i < 8; i++) Assert.Equal(want[i], y[i], 4);
        var real = Rotary.InverseFrequencies(1e6, 128, CPU).data<float>().ToArray();
        Assert.Equal(0.8058422f, real[1], 6);
        Assert.Equal(1.2409378e-6f, real[63], 10);
    }

    [Fact]
    public void Fusion_scales_continuous_positions_by_bf16_sqrt2_only()
    {
        using var llm = KimiaLlm.Load(TestData.TinyA, CPU, ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var c = llm.Config;
        var audio = tensor(new long[] { 5, c.TokenOffset + 1, c.TokenOffset + 2, 7 }).reshape(1, 4);
        var text = tensor(new long[] { 9, 9, 9, 9 }).reshape(1, 4);
        var rows = randn(2, c.AdaptorInputDim);
        var fused = llm.Embed(audio, text, new ContinuousInput(tensor(new long[] { 1, 2 }), rows));
        var plain = llm.Embed(audio, text, null);
        Assert.True(fused[0, 0].allclose(plain[0, 0]));
        Assert.True(fused[0, 3].allclose(plain[0, 3]));
        var e = llm.state_dict()["model.embed_tokens.weight"];
        var adaptor = llm.named_modules().First(m => m.name == "model.vq_adaptor").module as nn.Module<Tensor, Tensor>;
        var w = adaptor!.forward(rows);
        var expect1 = (e[c.TokenOffset + 1] + w[0]) * 1.4140625 + e[9];
        Assert.True(fused[0, 1].allclose(expect1, 1e-5, 1e-5));
    }

    [Fact]
    public void Other_tiny_configs_load_and_generate()
    {
        using var temp = new TempDir("tiny-other-");
        var dir = temp.Path;
        var sizes = new TinyLlmSizes { Hidden = 48, Layers = 3, Heads = 6, KvHeads = 3, Intermediate = 80, MimoLayers = 1, ForkIndex = 0, AdaptorInputDim = 20, Codebook = 40, Merges = 60, RopeTheta = 1e4, RmsNormEps = 1e-5, AudioDelay = 3 };
        var written = TinyLlmCheckpoint.Write(dir, 11, sizes);
        Assert.Contains(Directory.GetFiles(dir), f => f.EndsWith("model-3-of-3.safetensors", StringComparison.Ordinal));
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = dir, DType = "float32" });
        Assert.Equal(written, model.Config);
        Assert.Equal(316, model.Tokenizer.NumBaseTokens);
        Assert.Equal(3, model.Config.AudioDelayTokens);
        var audio = TestData.Audio(model.Config, 7, 1);
        var results = model.Generate(
        [
            new KimiAudioRequest { Messages = [Prompting.KimiMessage.UserText("Please transcribe"), Prompting.KimiMessage.UserAudio(audio)], MaxNewTokens = 5 },
            new KimiAudioRequest { Task = Prompting.KimiTask.Chat, Messages = [Prompting.KimiMessage.UserAudio(audio)], MaxNewTokens = 8 },
        ], CancellationToken.None);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error));
        Assert.InRange(results[0].Timings!.Steps, 1, 5);
        Assert.InRange(results[1].Timings!.Steps, 1, 8);
        Assert.All(results[1].SemanticIds, s => Assert.InRange(s, 0, 39));
    }

    [Fact]
    public void Bfloat16_checkpoint_and_runtime_work()
    {
        using var temp = new TempDir("tiny-bf16-");
        var dir = temp.Path;
        TinyLlmCheckpoint.Write(dir, 5, new TinyLlmSizes { StoreBf16 = true });
        using var src = TensorSource.OpenIndex(Path.Combine(dir, "model.safetensors.index.json"));
        Assert.Equal("BF16", src.Entry("lm_head.weight").DType);
        using var model = KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = dir, DType = "bfloat16" });
        Assert.Equal(ScalarType.BFloat16, model.Llm.DType);
        var audio = TestData.Audio(model.Config, 9, 2);
        var r = model.Generate([new KimiAudioRequest { Messages = [Prompting.KimiMessage.UserAudio(audio)], MaxNewTokens = 6 }], CancellationToken.None)[0];
        Assert.True(r.Succeeded, r.Error);
        Assert.True(r.Timings!.Steps is > 0 and <= 6);
    }
}

[Collection("Torch")]
public class KvCacheTests
{
    [Fact]
    public void Cache_grows_without_changing_its_contents_and_stops_at_the_maximum()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(2, 1, 2, 4, 3, ScalarType.Float32, CPU, maxCapacity: 10);
        var k1 = randn(1, 2, 3, 4);
        var v1 = randn(1, 2, 3, 4);
        cache.Append(0, k1, v1);
        cache.Append(1, k1, v1);
        cache.Advance(3);
        var k2 = randn(1, 2, 2, 4);
        var (keys, values) = cache.Append(0, k2, k2);
        Assert.Equal(6, cache.Capacity);
        Assert.True(keys.narrow(2, 0, 3).eq(k1).all().item<bool>());
        Assert.True(keys.narrow(2, 3, 2).eq(k2).all().item<bool>());
        Assert.True(values.narrow(2, 0, 3).eq(v1).all().item<bool>());
        cache.Append(1, k2, k2);
        cache.Advance(2);
        var big = randn(1, 2, 6, 4);
        Assert.Throws<InvalidOperationException>(() => cache.Append(0, big, big));
    }
}
