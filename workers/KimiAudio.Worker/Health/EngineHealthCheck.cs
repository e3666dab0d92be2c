using KimiAudio.Worker.Engine;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KimiAudio.Worker.Health;

/// <summary>Ready once the model is loaded (the engine is created while the host starts, before the bus takes messages).</summary>
public sealed class EngineHealthCheck(EngineReadiness readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(readiness.Engine is { } engine
            ? HealthCheckResult.Healthy($"{engine.ModelId} loaded")
            : HealthCheckResult.Unhealthy("model not loaded yet"));
}
