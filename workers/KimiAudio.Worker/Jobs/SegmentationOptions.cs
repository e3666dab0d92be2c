using KimiAudio.Vad;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>How long audio is cut into segments for the model's 30 s window.</summary>
public enum SegmentationMode
{
    /// <summary>At pauses found by Silero VAD (pieces ≤ Worker:SegmentSeconds; no pause → cut at that length).</summary>
    Vad,
    /// <summary>Every Worker:SegmentSeconds wherever that falls, as the reference does (the parity cases use it).</summary>
    Fixed,
}

/// <summary>Bound from section "Segmentation"; validated at start (in Vad mode the model must load).</summary>
public sealed class SegmentationOptions
{
    public const string SectionName = "Segmentation";

    public SegmentationMode Mode { get; set; } = SegmentationMode.Vad;
    /// <summary>The Silero VAD ONNX file; default KIMIA_VAD_MODEL, else .run/tools/silero-vad/silero_vad_v5.onnx above the program.</summary>
    public string? VadModelPath { get; set; }
}

/// <summary>In Vad mode the model file has to exist and load, so a worker without it stops at start with the reason.</summary>
public sealed class SegmentationOptionsValidator : IValidateOptions<SegmentationOptions>
{
    public ValidateOptionsResult Validate(string? name, SegmentationOptions options)
    {
        if (!Enum.IsDefined(options.Mode)) return ValidateOptionsResult.Fail($"Segmentation:Mode must be Vad or Fixed, not {options.Mode}");
        if (options.Mode != SegmentationMode.Vad) return ValidateOptionsResult.Success;
        try
        {
            using var vad = SileroVad.Open(VadModelLocator.Resolve(options.VadModelPath));
            return ValidateOptionsResult.Success;
        }
        catch (VadModelException ex)
        {
            return ValidateOptionsResult.Fail($"Segmentation:Mode is Vad but {ex.Message} (or set Segmentation:Mode=Fixed)");
        }
    }
}
