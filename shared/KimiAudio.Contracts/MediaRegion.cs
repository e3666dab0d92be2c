namespace KimiAudio.Contracts;

/// <summary>A region of a longer input (a manifest's offset + duration, as NeMo writes them): only it is decoded and annotated.</summary>
public sealed record MediaRegion
{
    public required double OffsetSeconds { get; init; }
    /// <summary>Null: to the end of the input.</summary>
    public double? DurationSeconds { get; init; }
}
