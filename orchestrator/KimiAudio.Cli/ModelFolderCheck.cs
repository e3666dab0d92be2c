using System.Text.Json;

namespace KimiAudio.Cli;

/// <summary>
/// Checks a Kimi-Audio model folder by file names only (the CLI does not load the model): config.json, the LLM
/// weights (model.safetensors.index.json and every shard it names, or model.safetensors), tiktoken.model, the Whisper
/// encoder folder, the GLM-4-Voice tokenizer folder, and the detokenizer + vocoder pair when either is there.
/// Returns what was found; throws <see cref="DoctorProblem"/> listing every missing file.
/// </summary>
public static class ModelFolderCheck
{
    public const string HowToFix =
        "put the Kimi-Audio-7B-Instruct snapshot there (and THUDM/glm-4-voice-tokenizer in glm-4-voice-tokenizer/ or Engine__GlmTokenizerPath), " +
        "or make a tiny test checkpoint with `kimia-model generate-tiny <folder>`";

    public static string Run(string folder, string? glmTokenizerFolder, string? detokenizerFolder, string? vocoderFolder)
    {
        if (!Directory.Exists(folder)) throw new DoctorProblem($"model folder '{folder}' does not exist", HowToFix);
        var missing = new List<string>();
        Require(folder, "config.json", missing);
        Require(folder, "tiktoken.model", missing);
        var shards = Weights(folder, missing);
        var whisper = Path.Combine(folder, "whisper-large-v3");
        Require(whisper, "config.json", missing);
        Weights(whisper, missing);
        var glm = glmTokenizerFolder ?? Path.Combine(folder, "glm-4-voice-tokenizer");
        Require(glm, "config.json", missing);
        Weights(glm, missing);

        var detokenizer = detokenizerFolder ?? Path.Combine(folder, "audio_detokenizer");
        var vocoder = vocoderFolder ?? Path.Combine(folder, "vocoder");
        var speech = Directory.Exists(detokenizer) || Directory.Exists(vocoder);
        if (speech)
        {
            Require(detokenizer, "config.yaml", missing);
            Require(detokenizer, "model.pt", missing);
            Require(vocoder, "config.json", missing);
            Require(vocoder, "model.pt", missing);
        }
        if (missing.Count > 0) throw new DoctorProblem($"model folder '{folder}' lacks {string.Join(", ", missing)}", HowToFix);
        return $"{folder}: LLM in {shards} safetensors file(s), Whisper, GLM tokenizer" + (speech ? ", detokenizer + vocoder (speech output)" : "; no detokenizer/vocoder (text output only)");
    }

    private static void Require(string folder, string file, List<string> missing)
    {
        if (!File.Exists(Path.Combine(folder, file))) missing.Add(Path.Combine(folder, file));
    }

    /// <summary>model.safetensors.index.json and each shard its weight_map names, or a single model.safetensors. Returns the file count.</summary>
    private static int Weights(string folder, List<string> missing)
    {
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (!File.Exists(index))
        {
            if (File.Exists(Path.Combine(folder, "model.safetensors"))) return 1;
            missing.Add(Path.Combine(folder, "model.safetensors.index.json (or model.safetensors)"));
            return 0;
        }
        HashSet<string> shards;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(index));
            shards = json.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            missing.Add($"{index} (unreadable: {ex.Message})");
            return 0;
        }
        foreach (var shard in shards.Order(StringComparer.Ordinal)) Require(folder, shard, missing);
        return shards.Count;
    }
}
