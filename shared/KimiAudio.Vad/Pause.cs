namespace KimiAudio.Vad;

/// <summary>A stretch [Start, End) of samples without speech.</summary>
public readonly record struct Pause(int Start, int End)
{
    public int Length => End - Start;
}
