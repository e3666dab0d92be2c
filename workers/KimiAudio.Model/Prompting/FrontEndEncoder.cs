using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;

namespace KimiAudio.Model.Prompting;

/// <summary>The audio front-end (<see cref="AudioFrontEnd"/>: GLM-4-Voice tokens + Whisper features) as an <see cref="IAudioEncoder"/>.</summary>
public sealed class FrontEndEncoder(AudioFrontEnd frontEnd) : IAudioEncoder, IDisposable
{
    public AudioFrontEnd FrontEnd { get; } = frontEnd;

    /// <summary>
    /// Loads the front-end from the options' Whisper and GLM tokenizer folders. Null when neither folder exists (then
    /// only text and pre-encoded audio can be prompted); an error when only one of them exists.
    /// </summary>
    public static FrontEndEncoder? TryLoad(KimiAudioModelOptions options, KimiAudioConfig config)
    {
        if (!FoldersPresent(options)) return null;
        var fe = AudioFrontEnd.Load(options.ResolvedWhisperFolder, options.ResolvedGlmTokenizerFolder, options.TorchDevice, options.TorchDType);
        if (config.UseWhisperFeature && fe.FeatureWidth != config.AdaptorInputDim)
        {
            fe.Dispose();
            throw new CheckpointException($"Whisper features are {fe.FeatureWidth} wide but the LLM's kimia_adaptor_input_dim is {config.AdaptorInputDim}");
        }
        return new FrontEndEncoder(fe);
    }

    /// <summary>True when both front-end folders exist, false when neither does; an error naming the missing one otherwise.</summary>
    public static bool FoldersPresent(KimiAudioModelOptions options)
    {
        var whisper = options.ResolvedWhisperFolder;
        var glm = options.ResolvedGlmTokenizerFolder;
        bool hasWhisper = Directory.Exists(whisper), hasGlm = Directory.Exists(glm);
        if (!hasWhisper && !hasGlm) return false;
        if (!hasWhisper) throw new DirectoryNotFoundException($"Whisper encoder folder not found: {whisper} (the GLM tokenizer folder {glm} exists)");
        if (!hasGlm) throw new DirectoryNotFoundException($"GLM-4-Voice tokenizer folder not found: {glm} (a separate download: THUDM/glm-4-voice-tokenizer)");
        return true;
    }

    public EncodedAudio Encode(float[] samples16k, bool withFeatures) => EncodeBatch([samples16k], withFeatures)[0];

    public IReadOnlyList<EncodedAudio> EncodeBatch(IReadOnlyList<float[]> audios, bool withFeatures)
    {
        if (audios.Count == 0) return [];
        using var tokens = FrontEnd.TokenizeBatch(audios);
        using var features = withFeatures ? FrontEnd.ContinuousFeaturesBatch(audios) : null;
        var result = new EncodedAudio[audios.Count];
        for (int i = 0; i < audios.Count; i++)
        {
            var ids = tokens.Row(i);
            Tensor? f = null;
            if (features is not null)
            {
                f = features.Row(i).clone().DetachFromDisposeScope();
                if (f.shape[0] != ids.Length)
                    throw new InvalidOperationException($"front-end gave {ids.Length} tokens but {f.shape[0]} feature rows for audio {i}");
            }
            result[i] = new EncodedAudio(ids, f);
        }
        return result;
    }

    public void Dispose() => FrontEnd.Dispose();
}
