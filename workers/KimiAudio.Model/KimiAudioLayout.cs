namespace KimiAudio.Model;

/// <summary>
/// File and folder names of the official Kimi-Audio snapshot (moonshotai/Kimi-Audio-7B-Instruct) and of its companion
/// folders. The LLM sits at the root (config, tokenizer files, safetensors index + shards); the Whisper encoder, the GLM-4
/// voice tokenizer (a separate download, conventionally placed inside), the detokenizer and the vocoder are sub-folders.
/// Loaders and the tiny-checkpoint writers both use these names, so a folder written by one is found by the other.
/// </summary>
public static class KimiAudioLayout
{
    // sub-folders of the model folder
    public const string WhisperFolder = "whisper-large-v3";
    public const string GlmTokenizerFolder = "glm-4-voice-tokenizer";
    public const string DetokenizerFolder = "audio_detokenizer";
    public const string VocoderFolder = "vocoder";

    // HF files (root LLM, Whisper, GLM tokenizer, vocoder)
    public const string Config = "config.json";
    public const string GenerationConfig = "generation_config.json";
    public const string PreprocessorConfig = "preprocessor_config.json";
    public const string SafetensorsIndex = "model.safetensors.index.json";
    public const string Safetensors = "model.safetensors";
    public const string Tiktoken = "tiktoken.model";
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string SpecialTokensMap = "special_tokens_map.json";

    // detokenizer and vocoder (torch.save checkpoints)
    public const string DetokenizerConfig = "config.yaml";
    public const string TorchCheckpoint = "model.pt";
}
