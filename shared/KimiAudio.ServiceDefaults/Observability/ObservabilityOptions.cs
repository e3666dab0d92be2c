using System.ComponentModel.DataAnnotations;

namespace KimiAudio.ServiceDefaults.Observability;

/// <summary>Traces, metrics and their endpoints. Bound from section "Observability"; OTEL_EXPORTER_OTLP_ENDPOINT is read as is.</summary>
public sealed class ObservabilityOptions : IValidatableObject
{
    public const string SectionName = "Observability";

    /// <summary>service.name of every span and metric; default OTEL_SERVICE_NAME, else the host's application name.</summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// OTLP collector (the standard variable OTEL_EXPORTER_OTLP_ENDPOINT is mapped here). Unset: traces are not exported;
    /// metrics are still served on /metrics.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Share of new traces recorded (parent-based: a trace started upstream keeps its decision).</summary>
    [Range(0.0, 1.0)] public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>
    /// When set, /metrics answers only on this extra port (a management port the API's clients never see);
    /// unset, /metrics is served anonymously next to the API.
    /// </summary>
    [Range(1, 65535)] public int? MetricsPort { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OtlpEndpoint is { Length: > 0 } e && !(Uri.TryCreate(e, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            yield return new ValidationResult($"OTEL_EXPORTER_OTLP_ENDPOINT / Observability:OtlpEndpoint must be an http(s) URL, not '{e}'", [nameof(OtlpEndpoint)]);
    }
}
