using static TorchSharp.torch;

namespace KimiAudio.Model.Prompting;

/// <summary>A span of prompt positions fused with the rows of one Whisper feature tensor.</summary>
public sealed record ContinuousSegment(int Start, int Length, Tensor Features);

/// <summary>
/// A built prompt: the audio and text streams (equal length), the continuous mask, and the Whisper features in
/// prompt order (the s-th media_begin … media_end span takes the s-th audio message's features).
/// </summary>
public sealed class KimiPrompt
{
    public required long[] AudioIds { get; init; }
    public required long[] TextIds { get; init; }
    public required bool[] ContinuousMask { get; init; }
    public required IReadOnlyList<ContinuousSegment> Segments { get; init; }
    public int Length => AudioIds.Length;
}
