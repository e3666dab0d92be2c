using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
        services.AddHostedService<EngineWarmup>();
        return services;
    }

    /// <summary>
    /// LEAD: wire the adapter from workers/KimiAudio.Model to <see cref="IInferenceEngine"/> here (load from
    /// options.ModelPath on options.Device, MaxBatchSize from config).
    /// </summary>
    private static IInferenceEngine CreateTorchEngine(IServiceProvider services, EngineOptions options)
        => throw new InvalidOperationException(
            "Engine:Kind 'torch' (the TorchSharp Kimi-Audio engine) is not wired into the worker yet: " +
            "see EngineRegistration.CreateTorchEngine in workers/KimiAudio.Worker/Engine/EngineRegistration.cs. " +
            $"(model path '{options.ModelPath}', device '{options.Device}')");

    private sealed class EngineWarmup(IInferenceEngine engine) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => engine.MaxBatchSize > 0
            ? Task.CompletedTask
            : throw new InvalidOperationException($"engine {engine.ModelId} reports MaxBatchSize {engine.MaxBatchSize}");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
