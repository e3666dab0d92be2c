using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Worker.Engine;

/// <summary>Which engine the worker runs. Bound from section "Engine".</summary>
public sealed class EngineOptions
{
    public const string SectionName = "Engine";
    public const string TorchKind = "torch";

    /// <summary>"torch" (default): the TorchSharp Kimi-Audio model. Hosts may register more kinds (tests do).</summary>
    [Required] public string Kind { get; set; } = TorchKind;
    /// <summary>Folder of the model checkpoint (for the torch engine).</summary>
    public string? ModelPath { get; set; }
    /// <summary>"cpu", "cuda", "cuda:1", ...</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>"bfloat16" (the checkpoint's dtype; use on GPU) or "float32".</summary>
    [RegularExpression("^(bfloat16|bf16|float32|fp32|f32)$", ErrorMessage = "Engine:DType must be bfloat16 or float32")]
    public string DType { get; set; } = "bfloat16";
    /// <summary>Slots of the continuous-batching scheduler: segments decoded together (the worker's in-flight limits default to 2 × it).</summary>
    [Range(1, 256)] public int MaxBatchSize { get; set; } = 8;
    /// <summary>GLM-4-Voice tokenizer folder (a separate download); default &lt;ModelPath&gt;/glm-4-voice-tokenizer.</summary>
    public string? GlmTokenizerPath { get; set; }
    /// <summary>Detokenizer folder; default &lt;ModelPath&gt;/audio_detokenizer (speech output is available when it and the vocoder exist).</summary>
    public string? DetokenizerPath { get; set; }
    /// <summary>Vocoder folder; default &lt;ModelPath&gt;/vocoder.</summary>
    public string? VocoderPath { get; set; }
    /// <summary>Name recorded with every result; default the model folder's name.</summary>
    public string? ModelId { get; set; }
}
