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

    /// <summary>
    /// Lost connections, server shutdowns and restarts (57P01 admin shutdown, as a fast shutdown sends to every session;
    /// 57P02 crash shutdown; 57P03 cannot connect now, while starting up; class 08 connection exceptions), serialization
    /// failures and deadlocks.
    /// </summary>
    public static bool IsTransientPostgres(Exception ex, CancellationToken callerToken) => ex switch
    {
        PostgresException pg => pg.IsTransient || IsServerGone(pg)
                                || pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        NpgsqlException npgsql => npgsql.IsTransient,
        OperationCanceledException => false,
        TimeoutException => !callerToken.IsCancellationRequested,
        _ => IsNetwork(ex),
    };

    /// <summary>The session or server went away (restart, shutdown, broken connection): pooled connections are dead too.</summary>
    public static bool IsServerGone(PostgresException pg)
        => pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
           || pg.SqlState.StartsWith("08", StringComparison.Ordinal);

    /// <summary>A fault after which the connection pool holds dead connections (a broken socket or a server that went away).</summary>
    public static bool IsConnectionLost(Exception ex) => ex switch
    {
        PostgresException pg => IsServerGone(pg),
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
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
