using KimiAudio.Infrastructure.Resilience;
using Microsoft.AspNetCore.Diagnostics;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>
/// A database fault that outlived the "postgres" retries (the server restarting, the pool unreachable) is the service
/// being briefly unavailable, not a bug: 503 with Retry-After, so clients and load balancers wait and try again.
/// Every other exception falls through to the generic 500 problem.
/// </summary>
public sealed class DatabaseUnavailableHandler(IProblemDetailsService problems, ILogger<DatabaseUnavailableHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!PipelineResilience.IsTransientPostgres(exception, httpContext.RequestAborted)) return false;
        logger.LogWarning(exception, "database unavailable for {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = "The database is unavailable; retry shortly." },
        });
    }
}
