namespace KimiAudio.Infrastructure.Storage;

/// <summary>The object is larger than the caller allows. Permanent.</summary>
public sealed class ObjectTooLargeException(string bucket, string key, long size, long limit)
    : Exception($"object s3://{bucket}/{key} has {size} bytes, over the limit of {limit}");
