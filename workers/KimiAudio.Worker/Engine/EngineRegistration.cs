using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Engine;

/// <summary>
/// THE registration point of the worker's inference engine. Engine:Kind selects it; "torch" (the default) is the
/// TorchSharp Kimi-Audio engine. Extra kinds come from the host (the pipeline tests add a deterministic one).
/// </summary>
public static class EngineRegistration
{
    public static IServiceCollection AddInferenceEngine(
        this IServiceCollection services, IReadOnlyDictionary<string, Func<IServiceProvider, IInferenceEngine>>? extraKinds = null)
    {
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            if (extraKinds is not null && extraKinds.TryGetValue(options.Kind, out var factory)) return factory(sp);
            if (string.Equals(options.Kind, EngineOptions.TorchKind, StringComparison.OrdinalIgnoreCase)) return CreateTorchEngine(sp, options);
            var known = string.Join(", ", new[] { EngineOptions.TorchKind }.Concat(extraKinds?.Keys ?? []));
            throw new InvalidOperationException($"Engine:Kind '{options.Kind}' is unknown; this worker knows: {known}.");
        });
        // resolve the engine while the host starts, so a missing model fails start-up instead of the first message
        services.AddSingleton<EngineReadiness>();
        services.AddHostedService<EngineWarmup>();
        return services;
    }

    /// <summary>The TorchSharp Kimi-Audio engine, loaded from options.ModelPath on options.Device.</summary>
    private static IInferenceEngine CreateTorchEngine(IServiceProvider services, EngineOptions options)
    {
        var engine = TorchKimiAudioEngine.Load(options);
        services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EngineRegistration))
            .LogInformation("Loaded Kimi-Audio engine {ModelId} on {Device} (batch {Batch})", engine.ModelId, options.Device, engine.MaxBatchSize);
        return engine;
    }

    private sealed class EngineWarmup(IInferenceEngine engine, EngineReadiness readiness) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (engine.MaxBatchSize <= 0) throw new InvalidOperationException($"engine {engine.ModelId} reports MaxBatchSize {engine.MaxBatchSize}");
            readiness.MarkLoaded(engine);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>Set once the engine is loaded at start-up; the readiness check reads it (and never triggers a load itself).</summary>
public sealed class EngineReadiness
{
    private volatile IInferenceEngine? engine;

    public IInferenceEngine? Engine => engine;

    internal void MarkLoaded(IInferenceEngine loaded) => engine = loaded;
}
