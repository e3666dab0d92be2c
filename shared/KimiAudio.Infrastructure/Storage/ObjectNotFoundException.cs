namespace KimiAudio.Infrastructure.Storage;

/// <summary>The object or its bucket does not exist. Permanent: retrying will not help.</summary>
public sealed class ObjectNotFoundException(string bucket, string key, Exception? inner = null)
    : Exception($"object s3://{bucket}/{key} does not exist", inner);
