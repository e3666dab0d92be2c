namespace KimiAudio.Contracts;

/// <summary>An object in S3-compatible storage. Messages carry references like this, never audio bytes.</summary>
public sealed record ObjectRef
{
    public required string Bucket { get; init; }
    public required string Key { get; init; }
    /// <summary>ETag seen when the batch listed the object (null when unknown, e.g. a manifest item that was missing).</summary>
    public string? ETag { get; init; }
    public long? Size { get; init; }
}
