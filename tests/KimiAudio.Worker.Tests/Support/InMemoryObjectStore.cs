using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using KimiAudio.Infrastructure.Storage;

namespace KimiAudio.Worker.Tests.Support;

/// <summary>Objects in a dictionary, with the contract of the S3 store: missing → <see cref="ObjectNotFoundException"/>, over the limit → <see cref="ObjectTooLargeException"/>.</summary>
public sealed class InMemoryObjectStore : IObjectStore
{
    private readonly ConcurrentDictionary<(string Bucket, string Key), (byte[] Data, string ContentType)> objects = new();

    public int Gets;

    public IReadOnlyDictionary<(string Bucket, string Key), (byte[] Data, string ContentType)> Objects => objects;

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken ct, string? startAfter = null)
    {
        await Task.Yield();
        foreach (var ((b, k), o) in objects.OrderBy(p => p.Key.Key, StringComparer.Ordinal))
            if (b == bucket && k.StartsWith(prefix, StringComparison.Ordinal) && (startAfter is null || string.CompareOrdinal(k, startAfter) > 0)) yield return Describe(b, k, o.Data);
    }

    public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken ct)
        => Task.FromResult(objects.TryGetValue((bucket, key), out var o) ? Describe(bucket, key, o.Data) : null);

    public Task<byte[]> GetBytesAsync(string bucket, string key, long maxBytes, CancellationToken ct)
    {
        Interlocked.Increment(ref Gets);
        if (!objects.TryGetValue((bucket, key), out var o)) throw new ObjectNotFoundException(bucket, key);
        if (o.Data.Length > maxBytes) throw new ObjectTooLargeException(bucket, key, o.Data.Length, maxBytes);
        return Task.FromResult(o.Data.ToArray());
    }

    public Task<Stream> OpenReadAsync(string bucket, string key, CancellationToken ct)
        => objects.TryGetValue((bucket, key), out var o) ? Task.FromResult<Stream>(new MemoryStream(o.Data, writable: false)) : throw new ObjectNotFoundException(bucket, key);

    public Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, CancellationToken ct)
    {
        objects[(bucket, key)] = (data.ToArray(), contentType);
        return Task.CompletedTask;
    }

    public Task EnsureBucketAsync(string bucket, CancellationToken ct) => Task.CompletedTask;

    private static StoredObject Describe(string bucket, string key, byte[] data)
        => new(bucket, key, $"\"{Convert.ToHexString(System.Security.Cryptography.MD5.HashData(data))}\"", data.Length);
}
