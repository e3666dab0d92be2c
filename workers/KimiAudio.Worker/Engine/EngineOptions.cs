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
}
