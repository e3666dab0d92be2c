using KimiAudio.Model.Llm;
using KimiAudio.Model.Text;

namespace KimiAudio.Model.Prompting;

/// <summary>
/// Builds the two-stream prompt exactly as the reference prompt manager (June 2025 state): a role token when the role
/// changes; text on the text stream with blanks on the audio stream; user audio as media_begin + semantic ids (fused
/// with Whisper features) + media_end; ct/ctd and msg_end when a message closes its role run; assistant text ends with
/// text_eos; assistant speech history (audio-text) = delay blanks + ids on the audio stream, transcript + blank padding
/// on the text stream; finally the assistant start token.
/// </summary>
public sealed class PromptBuilder
{
    private readonly KimiTextTokenizer tokenizer;
    private readonly KimiAudioConfig config;
    private readonly KimiSpecialTokens sp;

    public PromptBuilder(KimiTextTokenizer tokenizer, KimiAudioConfig config)
    {
        this.tokenizer = tokenizer;
        this.config = config;
        sp = tokenizer.Special;
        if (sp.MediaBegin != config.MediaBegin || sp.MediaEnd != config.MediaEnd)
            throw new InvalidDataException(
                $"tokenizer and config disagree: tokenizer media_begin/end = {sp.MediaBegin}/{sp.MediaEnd}, config kimia_media_begin/end = {config.MediaBegin}/{config.MediaEnd}");
        if (sp.End > config.TokenOffset)
            throw new InvalidDataException($"text vocabulary ({sp.End} ids) overlaps the audio ids starting at kimia_token_offset {config.TokenOffset}");
    }

    public KimiPrompt Build(IReadOnlyList<KimiMessage> messages, KimiOutputType output, IAudioEncoder? encoder = null)
    {
        if (messages.Count == 0) throw new ArgumentException("a prompt needs at least one message", nameof(messages));
        var audio = new List<long>();
        var text = new List<long>();
        var mask = new List<bool>();
        var segments = new List<ContinuousSegment>();

        void Emit(long a, long t, bool continuous = false)
        {
            audio.Add(a);
            text.Add(t);
            mask.Add(continuous);
        }

        for (int k = 0; k < messages.Count; k++)
        {
            var m = messages[k];
            bool tokenizeRole = k == 0 || messages[k - 1].Role != m.Role;
            bool close = k == messages.Count - 1 || messages[k + 1].Role != m.Role;
            if (tokenizeRole) Emit(m.Role == KimiRole.User ? sp.UserStart : sp.AssistantStart, sp.Blank);

            switch (m.Type)
            {
                case KimiMessageType.Text:
                {
                    var ids = tokenizer.Encode(m.Text ?? throw new ArgumentException($"message {k}: text message without text"));
                    foreach (var id in ids) Emit(sp.Blank, id);
                    if (m.Role == KimiRole.Assistant) Emit(sp.Blank, sp.TextEos);
                    break;
                }
                case KimiMessageType.Audio:
                {
                    var enc = EncodeAudio(m, k, encoder, withFeatures: config.UseWhisperFeature);
                    Emit(sp.MediaBegin, sp.Blank);
                    int start = audio.Count;
                    foreach (var s in enc.SemanticIds) Emit(CheckedAudioId(s, k), sp.Blank, continuous: true);
                    Emit(sp.MediaEnd, sp.Blank);
                    if (close) Emit(output == KimiOutputType.Text ? sp.SpeechCt : sp.SpeechCtd, sp.Blank);
                    if (config.UseWhisperFeature)
                    {
                        var f = enc.Features ?? throw new ArgumentException($"message {k}: audio has no Whisper features");
                        int n = enc.SemanticIds.Length;
                        if (f.dim() != 2 || f.shape[0] < n || f.shape[1] != config.AdaptorInputDim)
                            throw new ArgumentException(
                                $"message {k}: Whisper features have shape [{string.Join(", ", f.shape)}], need at least [{n}, {config.AdaptorInputDim}] for {n} semantic tokens");
                        segments.Add(new ContinuousSegment(start, n, f));
                    }
                    break;
                }
                case KimiMessageType.AudioText:
                {
                    var enc = EncodeAudio(m, k, encoder, withFeatures: false);
                    var ids = tokenizer.Encode(m.Text ?? throw new ArgumentException($"message {k}: audio-text message without transcript"));
                    int d = config.AudioDelayTokens, n = enc.SemanticIds.Length;
                    if (ids.Count > d + n)
                        throw new ArgumentException($"message {k}: transcript has {ids.Count} tokens, more than the {d} + {n} positions of its speech");
                    for (int i = 0; i < d + n; i++)
                        Emit(i < d ? sp.Blank : CheckedAudioId(enc.SemanticIds[i - d], k), i < ids.Count ? ids[i] : sp.Blank);
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(messages), m.Type, "unknown message type");
            }
            if (close) Emit(sp.MsgEnd, sp.Blank);
        }
        Emit(sp.AssistantStart, sp.Blank);
        return new KimiPrompt { AudioIds = [.. audio], TextIds = [.. text], ContinuousMask = [.. mask], Segments = segments };
    }

    private long CheckedAudioId(long raw, int message)
    {
        long id = raw + config.TokenOffset;
        if (raw < 0 || id >= config.VocabSize)
            throw new ArgumentException($"message {message}: semantic id {raw} outside 0..{config.VocabSize - config.TokenOffset - 1}");
        return id;
    }

    private static EncodedAudio EncodeAudio(KimiMessage m, int k, IAudioEncoder? encoder, bool withFeatures)
    {
        if (m.Encoded is not null) return m.Encoded;
        if (m.Audio is null) throw new ArgumentException($"message {k}: audio message without audio");
        if (m.Audio.Length == 0) throw new ArgumentException($"message {k}: audio is empty");
        if (encoder is null) throw new InvalidOperationException($"message {k}: raw audio given but no audio front-end is loaded");
        return encoder.Encode(m.Audio, withFeatures);
    }
}
