namespace KimiAudio.Model.Text;

/// <summary>
/// The special tokens of the Kimi text tokenizer, in the reference tokenizer's fixed order: 34 named tokens, then
/// auto-named reserved tokens up to 293 + 128 in total. Token i gets id num_base_tokens + i.
/// </summary>
public sealed class KimiSpecialTokens
{
    /// <summary>Total count of special tokens the reference tokenizer appends (293 + 128).</summary>
    public const int Count = 293 + 128;

    private static readonly string[] Named =
    [
        "[BOS]", "[EOS]", "<|im_msg_end|>", "<|im_user_msg_start|>", "<|im_assistant_msg_start|>",
        "<|reserved_token_0|>", "<|reserved_token_1|>", "<|reserved_token_2|>", "<|reserved_token_3|>", "[EOT]",
        "<|reserved_token_4|>", "<|reserved_token_5|>", "<|reserved_token_6|>", "<|reserved_token_7|>",
        "<|reserved_token_8|>", "<|reserved_token_9|>", "<|reserved_token_10|>", "<|reserved_token_11|>",
        "<|im_media_begin|>", "<|reserved_token_12|>", "<|im_media_end|>", "<|reserved_token_13|>",
        "<|reserved_token_14|>", "<|im_kimia_text_blank|>", "<|im_kimia_text_eos|>", "<|reserved_token_15|>",
        "<|reserved_token_16|>", "<|im_kimia_user_msg_start|>", "<|im_kimia_assistant_msg_start|>",
        "<|reserved_token_17|>", "<|reserved_token_18|>", "<|reserved_token_19|>", "<|im_kimia_speech_ct_id|>",
        "<|im_kimia_speech_ctd_id|>",
    ];

    /// <summary>The 421 names in id order.</summary>
    public static IReadOnlyList<string> Names { get; } = BuildNames();

    private static string[] BuildNames()
    {
        var names = new List<string>(Named);
        for (int i = 20; names.Count < Count; i++) names.Add($"<|reserved_token_{i}|>");
        return [.. names];
    }

    public int NumBaseTokens { get; }
    public IReadOnlyDictionary<string, int> Ids { get; }

    public KimiSpecialTokens(int numBaseTokens)
    {
        NumBaseTokens = numBaseTokens;
        Ids = Names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => numBaseTokens + p.i, StringComparer.Ordinal);
    }

    public int this[string name] => Ids.TryGetValue(name, out var id) ? id : throw new KeyNotFoundException($"no special token '{name}'");

    public int Bos => this["[BOS]"];
    public int Eos => this["[EOS]"];
    public int MsgEnd => this["<|im_msg_end|>"];
    public int MediaBegin => this["<|im_media_begin|>"];
    public int MediaEnd => this["<|im_media_end|>"];
    public int Blank => this["<|im_kimia_text_blank|>"];
    public int TextEos => this["<|im_kimia_text_eos|>"];
    public int UserStart => this["<|im_kimia_user_msg_start|>"];
    public int AssistantStart => this["<|im_kimia_assistant_msg_start|>"];
    public int SpeechCt => this["<|im_kimia_speech_ct_id|>"];
    public int SpeechCtd => this["<|im_kimia_speech_ctd_id|>"];
    /// <summary>The last special token (&lt;|reserved_token_406|&gt; for the real vocabulary).</summary>
    public int Pad => NumBaseTokens + Count - 1;
    /// <summary>One past the last special id = the text vocabulary size.</summary>
    public int End => NumBaseTokens + Count;

    public bool IsSpecial(int id) => id >= NumBaseTokens && id < End;

    public string NameOf(int id) => IsSpecial(id) ? Names[id - NumBaseTokens] : throw new ArgumentOutOfRangeException(nameof(id), id, "not a special token id");
}
