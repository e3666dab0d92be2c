using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Npgsql;
using Polly;

namespace KimiAudio.Infrastructure.Resilience;

/// <summary>
/// Names of the resilience pipelines and the faults each treats as transient. Only transient faults are retried,
/// with exponential back-off and jitter; everything else surfaces at once.
/// </summary>
public static class PipelineResilience
{
    public const string S3 = "s3";
    public const string Postgres = "postgres";

    /// <summary>S3 5xx, throttling, request timeouts and broken connections.</summary>
    public static bool IsTransientS3(Exception ex, CancellationToken callerToken) => ex switch
    {
        AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } => true,
        AmazonServiceException { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout } => true,
        AmazonServiceException { ErrorCode: "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" } => true,
        AmazonServiceException => false,
        AmazonClientException { InnerException: { } inner } => IsNetwork(inner),
        OperationCanceledException => !callerToken.IsCancellationRequested, // an HTTP timeout, not the caller giving up
        _ => IsNetwork(ex),
    };

    /// <summary>Lost connections, server shutdowns, serialization failures and deadlocks.</summary>
    public static bool IsTransientPostgres(Exception ex, CancellationToken callerToken) => ex switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        NpgsqlException npgsql => npgsql.IsTransient,
        OperationCanceledException => false,
        TimeoutException => !callerToken.IsCancellationRequested,
        _ => IsNetwork(ex),
    };

    private static bool IsNetwork(Exception ex)
        => ex is HttpRequestException or IOException or SocketException or TimeoutException
           || (ex.InnerException is { } inner && IsNetwork(inner));

    internal static ResiliencePipelineBuilder AddTransientRetry(
        this ResiliencePipelineBuilder builder, int maxRetries, int baseDelayMs, Func<Exception, CancellationToken, bool> isTransient)
    {
        if (maxRetries == 0) return builder;
        return builder.AddRetry(new Polly.Retry.RetryStrategyOptions
        {
            MaxRetryAttempts = maxRetries,
            Delay = TimeSpan.FromMilliseconds(baseDelayMs),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            MaxDelay = TimeSpan.FromSeconds(10),
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is { } ex && isTransient(ex, args.Context.CancellationToken)),
        });
    }
}
