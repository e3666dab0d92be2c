using KimiAudio.Model.Detokenizer;
using KimiAudio.Model.GlmTokenizer;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Whisper;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>
/// Writes a complete random Kimi-Audio folder with the layout of the official snapshot: the LLM (config, tokenizer
/// files, index + shards) at the root, <c>whisper-large-v3/</c>, and <c>glm-4-voice-tokenizer/</c> (in the real world a
/// separate download; here placed inside so that one folder is enough), <c>audio_detokenizer/</c> and <c>vocoder/</c>. Sizes agree with each other: the adaptor input is
/// 4 × the Whisper width and the LLM's audio range and the detokenizer's vocabulary are the GLM codebook. Used by tests and by the demo when no real
/// weights are given.
/// </summary>
public static class TinyKimiAudioCheckpoint
{
    /// <summary>Writes the folder and returns the LLM config written.</summary>
    public static KimiAudioConfig Write(string folder, int seed, TinyLlmSizes? llm = null, int whisperWidth = 64, int codebook = 64)
    {
        llm ??= new TinyLlmSizes();
        llm = llm with { AdaptorInputDim = 4 * whisperWidth, Codebook = codebook };
        var config = TinyLlmCheckpoint.Write(folder, seed, llm);
        TinyWhisperCheckpoint.Write(Path.Combine(folder, KimiAudioLayout.WhisperFolder), seed + 1, dModel: whisperWidth);
        TinyGlmTokenizerCheckpoint.Write(Path.Combine(folder, KimiAudioLayout.GlmTokenizerFolder), seed + 2, codebookSize: codebook);
        TinyDetokenizerCheckpoint.Write(folder, seed + 3, new TinyDetokenizerSpec { SemanticVocabSize = codebook });
        return config;
    }
}
