using System.Net;
using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;
using KimiAudio.Infrastructure.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace KimiAudio.Infrastructure.Storage;

/// <summary>AWSSDK.S3 implementation of <see cref="IObjectStore"/>; each call runs inside the "s3" resilience pipeline.</summary>
public sealed class S3ObjectStore(IAmazonS3 s3, [FromKeyedServices(PipelineResilience.S3)] ResiliencePipeline pipeline) : IObjectStore
{
    private const int PageSize = 1000;

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken ct, string? startAfter = null)
    {
        string? continuation = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, MaxKeys = PageSize, ContinuationToken = continuation };
            if (continuation is null && startAfter is not null) request.StartAfter = startAfter;
            var page = await pipeline.ExecuteAsync(async token => await s3.ListObjectsV2Async(request, token), ct);
            foreach (var o in page.S3Objects ?? [])
                yield return new StoredObject(bucket, o.Key, TrimQuotes(o.ETag), o.Size ?? 0);
            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken ct)
    {
        try
        {
            var meta = await pipeline.ExecuteAsync(async token => await s3.GetObjectMetadataAsync(bucket, key, token), ct);
            return new StoredObject(bucket, key, TrimQuotes(meta.ETag), meta.ContentLength);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            return null;
        }
    }

    public async Task<byte[]> GetBytesAsync(string bucket, string key, long maxBytes, CancellationToken ct)
    {
        try
        {
            return await pipeline.ExecuteAsync(async token =>
            {
                using var response = await s3.GetObjectAsync(bucket, key, token);
                var length = response.ContentLength;
                if (length > maxBytes) throw new ObjectTooLargeException(bucket, key, length, maxBytes);
                var buffer = new byte[length];
                await response.ResponseStream.ReadExactlyAsync(buffer, token);
                return buffer;
            }, ct);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            throw new ObjectNotFoundException(bucket, key, ex);
        }
    }

    public async Task<Stream> OpenReadAsync(string bucket, string key, CancellationToken ct)
    {
        try
        {
            var response = await pipeline.ExecuteAsync(async token => await s3.GetObjectAsync(bucket, key, token), ct);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            throw new ObjectNotFoundException(bucket, key, ex);
        }
    }

    public async Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, CancellationToken ct)
    {
        await pipeline.ExecuteAsync(async token =>
        {
            // a fresh stream per attempt: a retried request must send the whole body again
            using var body = new MemoryStream(data.ToArray(), writable: false);
            var request = new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body, ContentType = contentType, UseChunkEncoding = false };
            await s3.PutObjectAsync(request, token);
        }, ct);
    }

    public async Task EnsureBucketAsync(string bucket, CancellationToken ct)
    {
        await pipeline.ExecuteAsync(async token =>
        {
            try
            {
                await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, token);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }
        }, ct);
    }

    private static bool IsNotFound(AmazonS3Exception ex)
        => ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "NoSuchBucket" or "NotFound";

    private static string TrimQuotes(string? etag) => (etag ?? "").Trim('"');
}
