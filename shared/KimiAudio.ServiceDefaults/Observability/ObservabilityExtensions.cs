using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace KimiAudio.ServiceDefaults.Observability;

/// <summary>
/// OpenTelemetry shared by both services: traces (ASP.NET Core, MassTransit, HttpClient — the S3 SDK's calls —, Npgsql
/// and the pipeline's own sources) exported over OTLP only when an endpoint is configured; metrics (the same plus
/// the pipeline's meters) served in Prometheus text on /metrics. Logs carry trace ids and the scopes that the services
/// open (BatchId, JobId, Attempt); Logging:Console:FormatterName=json selects JSON lines.
/// </summary>
public static class ObservabilityExtensions
{
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ObservabilityOptions>().BindConfiguration(ObservabilityOptions.SectionName)
            .Configure<IConfiguration>((o, config) => o.OtlpEndpoint ??= config["OTEL_EXPORTER_OTLP_ENDPOINT"])
            .ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(ObservabilityOptions.SectionName).Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        var otlpEndpoint = options.OtlpEndpoint ?? builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var samplingRatio = Math.Clamp(options.TraceSampleRatio, 0, 1); // an out-of-range value is reported by the validation at start

        builder.Logging.Configure(o => o.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        // the JSON formatter is built into the console provider; AddJsonConsole would also select it, so only its options are set
        services.Configure<JsonConsoleFormatterOptions>(o => o.IncludeScopes = true);
        // AddSimpleConsole pins FormatterName in code; configuration (Logging:Console:FormatterName) gets the last word
        var formatter = builder.Configuration["Logging:Console:FormatterName"];
        if (!string.IsNullOrEmpty(formatter)) services.PostConfigure<ConsoleLoggerOptions>(o => o.FormatterName = formatter);

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                options.ServiceName ?? builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName,
                serviceNamespace: builder.Configuration["OTEL_SERVICE_NAMESPACE"]))
            .WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(samplingRatio)))
                .AddSource(PipelineTelemetry.Prefix + "*", PipelineTelemetry.MassTransitName, "System.Net.Http")
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsTelemetryPath(context.Request.Path))
                .AddNpgsql())
            .WithMetrics(metrics => metrics
                .AddMeter(PipelineTelemetry.Prefix + "*", PipelineTelemetry.MassTransitName,
                    "Microsoft.AspNetCore.Hosting", "System.Net.Http", "System.Runtime", "Npgsql")
                .AddPrometheusExporter());
        // OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS are read by the exporter itself (for OTLP/HTTP it appends
        // /v1/traces); Observability:OtlpEndpoint, when given, is used as is (the full URL for OTLP/HTTP)
        if (!string.IsNullOrEmpty(otlpEndpoint))
            otel.WithTracing(tracing => tracing.AddOtlpExporter(o =>
            {
                if (options.OtlpEndpoint is { Length: > 0 } configured) o.Endpoint = new Uri(configured);
            }));
        return builder;
    }

    /// <summary>
    /// /metrics (Prometheus text, anonymous). With Observability:MetricsPort set it answers only on that port, which is
    /// added to the addresses the server listens on.
    /// </summary>
    public static WebApplication MapObservability(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        endpoint.AllowAnonymous();
        if (options.MetricsPort is { } port)
        {
            endpoint.RequireHost($"*:{port}");
            // RequireHost matches the Host header, which the caller writes: the port the connection came in on decides
            app.Use((context, next) =>
            {
                if (context.GetEndpoint() is { } matched && IsMetricsEndpoint(matched) && context.Connection.LocalPort != port)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }
                return next(context);
            });
            AddListenAddress(app, $"http://*:{port}");
        }
        return app;
    }

    /// <summary>/health/live (the process answers) and /health/ready (every registered check: broker, database, ...), anonymous.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready").AllowAnonymous();
        return app;
    }

    private static bool IsMetricsEndpoint(Endpoint endpoint)
        => endpoint is RouteEndpoint route && string.Equals(route.RoutePattern.RawText, "/metrics", StringComparison.OrdinalIgnoreCase);

    private static bool IsTelemetryPath(Microsoft.AspNetCore.Http.PathString path)
        => path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");

    /// <summary>
    /// Adds one address while keeping the configured ones: an address added in code replaces the "urls" /
    /// ASPNETCORE_HTTP_PORTS settings, so those are carried over first.
    /// </summary>
    private static void AddListenAddress(WebApplication app, string address)
    {
        var addresses = app.Urls;
        if (addresses.Count == 0)
        {
            var config = app.Configuration;
            if (config["urls"] is { Length: > 0 } urls)
                foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) addresses.Add(url);
            else if (config["http_ports"] is { Length: > 0 } ports)
                foreach (var p in ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) addresses.Add($"http://*:{p}");
            else addresses.Add("http://localhost:5000");
        }
        addresses.Add(address);
    }
}
