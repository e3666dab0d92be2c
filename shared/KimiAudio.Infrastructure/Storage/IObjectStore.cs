namespace KimiAudio.Infrastructure.Storage;

/// <summary>Object storage used by the pipeline. Every call is retried on transient faults by the "s3" resilience pipeline.</summary>
public interface IObjectStore
{
    /// <summary>
    /// Lists every object under <paramref name="prefix"/> in key order, one page at a time (constant memory); with
    /// <paramref name="startAfter"/>, only the keys after it (S3's StartAfter: a listing resumes from its last key).
    /// </summary>
    IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken ct, string? startAfter = null);

    /// <summary>Metadata of one object, or null when it does not exist.</summary>
    Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken ct);

    /// <summary>The whole object. Throws <see cref="ObjectNotFoundException"/> or <see cref="ObjectTooLargeException"/> (both permanent).</summary>
    Task<byte[]> GetBytesAsync(string bucket, string key, long maxBytes, CancellationToken ct);

    /// <summary>A readable stream of the object (retried only while opening). Throws <see cref="ObjectNotFoundException"/>.</summary>
    Task<Stream> OpenReadAsync(string bucket, string key, CancellationToken ct);

    Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, CancellationToken ct);

    Task EnsureBucketAsync(string bucket, CancellationToken ct);
}
