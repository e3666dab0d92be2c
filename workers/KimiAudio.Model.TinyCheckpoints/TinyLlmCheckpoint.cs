using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>Sizes of a generated random LLM checkpoint. The defaults give a tiny model that runs in milliseconds on CPU.</summary>
public sealed record TinyLlmSizes
{
    public int Hidden { get; init; } = 64;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Intermediate { get; init; } = 128;
    public int MimoLayers { get; init; } = 2;
    public int ForkIndex { get; init; } = 1;
    public int AdaptorInputDim { get; init; } = 32;
    /// <summary>GLM codebook size: audio-stream ids are offset … offset + Codebook − 1.</summary>
    public int Codebook { get; init; } = 64;
    /// <summary>BPE merges learned on the built-in English text, on top of the 256 byte tokens.</summary>
    public int Merges { get; init; } = 100;
    public double RopeTheta { get; init; } = 1e6;
    public double RmsNormEps { get; init; } = 1e-6;
    public int AudioDelay { get; init; } = 6;
    public int MaxPositions { get; init; } = 8192;
    /// <summary>Store weights as BF16 (as the real checkpoint) instead of F32.</summary>
    public bool StoreBf16 { get; init; }

    /// <summary>A mid-size config for benchmarks: hidden 1024, 8 layers (+2 MIMO), 16 heads / 4 KV heads.</summary>
    public static TinyLlmSizes MidSize { get; } = new()
    {
        Hidden = 1024, Layers = 8, Heads = 16, KvHeads = 4, Intermediate = 2816, MimoLayers = 2, ForkIndex = 5,
        AdaptorInputDim = 512, Codebook = 1024, Merges = 200,
    };
}

/// <summary>
/// Writes a random LLM checkpoint folder with the real layout: config.json (every field), generation_config.json,
/// model.safetensors.index.json over irregularly named shards (including the stale inv_freq buffers), tiktoken.model
/// (256 byte tokens in tiktoken byte order + merges learned from a small English text), tokenizer_config.json with
/// the added special tokens, special_tokens_map.json. Weights are seeded and drawn per tensor from the modules' own
/// state dict, so every key the model expects exists with its shape.
/// </summary>
public static class TinyLlmCheckpoint
{
    private const string TrainingText =
        "The quick brown fox jumps over the lazy dog. A speech recognition model listens to the audio and writes " +
        "down what was said. The recording was made in a quiet room, and the speaker talks slowly and clearly. " +
        "Please transcribe the following audio. Please describe the sound in detail. What is the emotion of the " +
        "speaker? The weather today is sunny with a light wind, and the children are playing in the park. " +
        "Music, speech and noise are the three kinds of sound in this collection of recordings.";

    public static KimiAudioConfig Write(string folder, int seed, TinyLlmSizes? sizes = null)
    {
        sizes ??= new TinyLlmSizes();
        Directory.CreateDirectory(folder);
        var ranks = BuildRanks(sizes.Merges);
        File.WriteAllLines(Path.Combine(folder, KimiAudioLayout.Tiktoken), ranks.Select((b, i) => $"{Convert.ToBase64String(b)} {i}"));
        var special = new KimiSpecialTokens(ranks.Count);
        int offset = special.End;
        var config = new KimiAudioConfig
        {
            HiddenSize = sizes.Hidden,
            IntermediateSize = sizes.Intermediate,
            NumHiddenLayers = sizes.Layers,
            NumAttentionHeads = sizes.Heads,
            NumKeyValueHeads = sizes.KvHeads,
            VocabSize = offset + sizes.Codebook,
            MaxPositionEmbeddings = sizes.MaxPositions,
            RmsNormEps = sizes.RmsNormEps,
            RopeTheta = sizes.RopeTheta,
            MimoLayers = sizes.MimoLayers,
            MimoFromLayerIndex = sizes.ForkIndex,
            AudioDelayTokens = sizes.AudioDelay,
            TokenOffset = offset,
            TextOutputVocab = offset,
            AudioOutputVocab = sizes.Codebook + 16,
            AdaptorInputDim = sizes.AdaptorInputDim,
            MediaBegin = special.MediaBegin,
            MediaEnd = special.MediaEnd,
            UseWhisperFeature = true,
            NumBaseTokens = ranks.Count,
            PadTokenId = special.Pad,
            BosTokenId = special.Bos,
            EosTokenId = special.Eos,
            TorchDType = sizes.StoreBf16 ? "bfloat16" : "float32",
        };
        config.Validate("TinyLlmCheckpoint");
        WriteJson(Path.Combine(folder, KimiAudioLayout.Config), config.ToJson());
        WriteJson(Path.Combine(folder, KimiAudioLayout.GenerationConfig), new JsonObject
        {
            ["_from_model_config"] = true, ["bos_token_id"] = special.Bos, ["eos_token_id"] = special.Eos, ["transformers_version"] = "4.44.1",
        });
        WriteTokenizerFiles(folder, special);
        WriteWeights(folder, config, seed, sizes.StoreBf16 ? ScalarType.BFloat16 : ScalarType.Float32);
        return config;
    }

    private static void WriteWeights(string folder, KimiAudioConfig config, int seed, ScalarType storeAs)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var llm = new KimiaLlm(config, CPU, ScalarType.Float32);
        var gen = new Generator((ulong)seed, CPU);
        var shards = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        void Put(string shard, string key, Tensor t)
        {
            if (!shards.TryGetValue(shard, out var d)) shards[shard] = d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            d[key] = t.to(storeAs);
        }
        foreach (var (key, t) in llm.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var noise = randn(t.shape, generator: gen);
            Tensor value;
            if (key.EndsWith("norm.weight", StringComparison.Ordinal) || key == "model.vq_adaptor.layers.4.weight") value = 1 + 0.1 * noise;
            else if (key.EndsWith(".bias", StringComparison.Ordinal)) value = 0.1 * noise;
            else if (key == "model.embed_tokens.weight") value = noise;
            else if (key is "lm_head.weight" or "mimo_output.weight") value = noise * (3.0 / Math.Sqrt(config.HiddenSize));
            else value = noise / Math.Sqrt(t.shape[^1]);
            // irregular shard names, as in the real snapshot; the loader must follow the index
            string shard = key.StartsWith("model.layers.", StringComparison.Ordinal) ? "model-1-of-2.safetensors"
                : key.StartsWith("model.mimo_layers.", StringComparison.Ordinal) || key.StartsWith("model.vq_adaptor.", StringComparison.Ordinal) ? "model-2-of-2.safetensors"
                : "model-3-of-3.safetensors";
            Put(shard, key, value);
        }
        // stale rotary buffers as the real checkpoint stores them (bf16-rounded); the loader ignores them
        var invFreq = Rotary.InverseFrequencies(config.RopeTheta, config.HeadDim, CPU).to(ScalarType.BFloat16).to(ScalarType.Float32);
        for (int i = 0; i < config.NumHiddenLayers; i++) Put("model-1-of-2.safetensors", $"model.layers.{i}.self_attn.rotary_emb.inv_freq", invFreq);
        for (int j = 0; j < config.MimoLayers; j++) Put("model-2-of-2.safetensors", $"model.mimo_layers.{j}.self_attn.rotary_emb.inv_freq", invFreq);

        var weightMap = new JsonObject();
        long total = 0;
        foreach (var (shard, tensors) in shards)
        {
            SafetensorsWriter.Write(Path.Combine(folder, shard), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var (k, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                weightMap[k] = shard;
                total += t.NumberOfElements * t.ElementSize;
            }
        }
        WriteJson(Path.Combine(folder, KimiAudioLayout.SafetensorsIndex), new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = total },
            ["weight_map"] = weightMap,
        });
    }

    private static void WriteTokenizerFiles(string folder, KimiSpecialTokens special)
    {
        var added = new JsonObject();
        foreach (var name in KimiSpecialTokens.Names)
        {
            added[special[name].ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = name, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        }
        var additional = new JsonArray(KimiSpecialTokens.Names.Skip(2).Take(32).Select(n => (JsonNode)JsonValue.Create(n)!).ToArray());
        var pad = KimiSpecialTokens.Names[^1];
        var unk = KimiSpecialTokens.Names[^2];
        WriteJson(Path.Combine(folder, KimiAudioLayout.TokenizerConfig), new JsonObject
        {
            ["added_tokens_decoder"] = added,
            ["additional_special_tokens"] = additional,
            ["auto_map"] = new JsonObject { ["AutoTokenizer"] = new JsonArray("tokenization_kimia.TikTokenTokenizer", null) },
            ["bos_token"] = "[BOS]",
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = "[EOS]",
            ["model_max_length"] = 1e30,
            ["pad_token"] = pad,
            ["tokenizer_class"] = "TikTokenTokenizer",
            ["unk_token"] = unk,
        });
        WriteJson(Path.Combine(folder, KimiAudioLayout.SpecialTokensMap), new JsonObject
        {
            ["additional_special_tokens"] = additional.DeepClone(),
            ["bos_token"] = "[BOS]",
            ["eos_token"] = "[EOS]",
            ["pad_token"] = pad,
            ["unk_token"] = unk,
        });
    }

    /// <summary>256 byte tokens in tiktoken (GPT-2) byte order, then <paramref name="merges"/> merges learned on the built-in text.</summary>
    public static IReadOnlyList<byte[]> BuildRanks(int merges)
    {
        var order = new List<int>();
        for (int b = '!'; b <= '~'; b++) order.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) order.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) order.Add(b);
        for (int b = 0; b < 256; b++) if (!order.Contains(b)) order.Add(b);
        var vocab = order.Select(b => new[] { (byte)b }).ToList();
        var known = new HashSet<string>(vocab.Select(Convert.ToBase64String), StringComparer.Ordinal);
        var rankOf = vocab.Select((v, i) => (v[0], i)).ToDictionary(p => (int)p.Item1, p => p.i);

        // words = pre-tokenized pieces as lists of token ranks
        var words = System.Text.RegularExpressions.Regex.Matches(TrainingText, KimiTextTokenizer.Pattern)
            .Select(m => Encoding.UTF8.GetBytes(m.Value).Select(b => rankOf[b]).ToList()).ToList();
        var banned = new HashSet<(int, int)>();
        while (vocab.Count < 256 + merges)
        {
            var counts = new Dictionary<(int, int), int>();
            foreach (var w in words)
                for (int i = 0; i + 1 < w.Count; i++)
                {
                    var pair = (w[i], w[i + 1]);
                    if (!banned.Contains(pair)) counts[pair] = counts.GetValueOrDefault(pair) + 1;
                }
            if (counts.Count == 0) throw new InvalidOperationException($"the built-in text supports only {vocab.Count - 256} merges");
            var best = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First().Key;
            var merged = vocab[best.Item1].Concat(vocab[best.Item2]).ToArray();
            if (!known.Add(Convert.ToBase64String(merged)))
            {
                banned.Add(best);
                continue;
            }
            int id = vocab.Count;
            vocab.Add(merged);
            foreach (var w in words)
                for (int i = 0; i + 1 < w.Count; i++)
                    if (w[i] == best.Item1 && w[i + 1] == best.Item2)
                    {
                        w[i] = id;
                        w.RemoveAt(i + 1);
                    }
        }
        return vocab;
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
