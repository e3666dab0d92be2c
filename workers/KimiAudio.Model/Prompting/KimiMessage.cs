using static TorchSharp.torch;

namespace KimiAudio.Model.Prompting;

public enum KimiRole { User, Assistant }

/// <summary>Message kinds of the reference prompt manager: text, audio, and assistant speech history with its transcript.</summary>
public enum KimiMessageType { Text, Audio, AudioText }

/// <summary>Which streams the model generates: text only (ASR, QA, …) or text and speech (<c>both</c>).</summary>
public enum KimiOutputType { Text, Both }

/// <summary>
/// The front-end outputs of one audio: raw GLM-4-Voice codebook ids (no offset) and, for user audio, the stacked
/// 12.5 Hz Whisper features [n, adaptor_input_dim] (before the adaptor).
/// </summary>
public sealed record EncodedAudio(long[] SemanticIds, Tensor? Features);

/// <summary>Turns 16 kHz mono samples into <see cref="EncodedAudio"/> (implemented by the audio front-end).</summary>
public interface IAudioEncoder
{
    EncodedAudio Encode(float[] samples16k, bool withFeatures);

    /// <summary>Encodes several audios together (shared encoder batches); item i equals <see cref="Encode"/> of audio i.</summary>
    IReadOnlyList<EncodedAudio> EncodeBatch(IReadOnlyList<float[]> audios, bool withFeatures) =>
        audios.Select(a => Encode(a, withFeatures)).ToList();
}

/// <summary>
/// One message of a conversation, as <c>KimiAudio.generate</c> takes them. Audio is given as 16 kHz samples
/// (<see cref="Audio"/>) or already encoded (<see cref="Encoded"/>). <see cref="Text"/> is the content of a text
/// message or the transcript of an <see cref="KimiMessageType.AudioText"/> message.
/// </summary>
public sealed record KimiMessage(KimiRole Role, KimiMessageType Type)
{
    public string? Text { get; init; }
    public float[]? Audio { get; init; }
    public EncodedAudio? Encoded { get; init; }

    public static KimiMessage UserText(string text) => new(KimiRole.User, KimiMessageType.Text) { Text = text };
    public static KimiMessage AssistantText(string text) => new(KimiRole.Assistant, KimiMessageType.Text) { Text = text };
    public static KimiMessage UserAudio(float[] samples16k) => new(KimiRole.User, KimiMessageType.Audio) { Audio = samples16k };
    public static KimiMessage UserAudio(EncodedAudio encoded) => new(KimiRole.User, KimiMessageType.Audio) { Encoded = encoded };
    /// <summary>An assistant turn spoken earlier (multi-turn speech chat): its audio and its transcript.</summary>
    public static KimiMessage AssistantAudioText(float[] samples16k, string transcript) =>
        new(KimiRole.Assistant, KimiMessageType.AudioText) { Audio = samples16k, Text = transcript };
    public static KimiMessage AssistantAudioText(EncodedAudio encoded, string transcript) =>
        new(KimiRole.Assistant, KimiMessageType.AudioText) { Encoded = encoded, Text = transcript };
}
