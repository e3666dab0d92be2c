using KimiAudio.Infrastructure;
using MassTransit;
using KimiAudio.ServiceDefaults;
using KimiAudio.ServiceDefaults.Observability;
using KimiAudio.Worker.Consumers;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Health;
using KimiAudio.Worker.Jobs;
using KimiAudio.Worker.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Polly.Telemetry;

namespace KimiAudio.Worker;

/// <summary>
/// Builds the worker host: the message consumer plus a small HTTP listener (Worker:HttpPort) for /health/live,
/// /health/ready (database, broker, model loaded) and /metrics. Program.cs uses the defaults; a test host adds engine kinds of its own.
/// </summary>
public static class WorkerHost
{
    public static IHost Build(string[] args, IReadOnlyDictionary<string, Func<IServiceProvider, IInferenceEngine>>? extraEngineKinds = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.Services.AddWorker(extraEngineKinds);
        builder.Services.AddWorkerHttp();
        var app = builder.Build();
        app.MapHealthEndpoints();
        app.MapObservability();
        return app;
    }

    public static IServiceCollection AddWorker(
        this IServiceCollection services, IReadOnlyDictionary<string, Func<IServiceProvider, IInferenceEngine>>? extraEngineKinds = null)
    {
        // order matters: the schema check and the engine load run before the bus starts taking messages, and the
        // lease heartbeat stops after the bus (hosted services stop in reverse order)
        services.AddPipelineResilience();
        services.AddPipelineDatabase();
        services.AddObjectStore();
        services.AddInferenceEngine(extraEngineKinds);
        services.AddSingleton<IJobStore, JobRepository>();
        services.AddWorkerJobs();
        services.AddWorkerTelemetry();
        services.AddPipelineMessaging(x => x.AddWorkerConsumer());
        return services;
    }

    /// <summary>
    /// The pieces of a job's life (lease, prepare input, run segments, finish, fault policy) and the limits they share.
    /// Needs an <see cref="IJobStore"/>, an <see cref="Infrastructure.Storage.IObjectStore"/> and an <see cref="IInferenceEngine"/>.
    /// </summary>
    public static IServiceCollection AddWorkerJobs(this IServiceCollection services)
    {
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.TryAddSingleton<WorkerTelemetry>();
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<WorkerLimits>();
        services.AddSingleton<AudioBudget>();
        services.AddSingleton<LeaseHeartbeat>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseHeartbeat>());
        services.AddSingleton<JobLease>();
        services.AddSegmentPlanner();
        services.AddSingleton<InputPreparer>();
        services.AddSingleton<SegmentRunner>();
        services.AddSingleton<JobFinisher>();
        services.AddSingleton<FaultPolicy>();
        services.AddSingleton<JobProcessor>();
        return services;
    }

    /// <summary>The work queue's consumer (one message per job), on whatever transport the bus uses.</summary>
    public static void AddWorkerConsumer(this IBusRegistrationConfigurator bus) => bus.AddConsumer<ProcessAudioConsumer, ProcessAudioConsumerDefinition>();

    /// <summary>Spans and metrics of the jobs, retries of the resilience pipelines, and GPU memory when the engine runs on CUDA.</summary>
    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services)
    {
        services.TryAddSingleton<WorkerTelemetry>();
        services.AddOptions<TelemetryOptions>().Configure<WorkerTelemetry>((o, telemetry) => o.TelemetryListeners.Add(new ResilienceRetryListener(telemetry)));
        services.AddHostedService<GpuMemorySampler>();
        return services;
    }

    /// <summary>Kestrel on Worker:HttpPort (all interfaces) and the readiness checks; MassTransit adds the broker's own.</summary>
    private static IServiceCollection AddWorkerHttp(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<WorkerOptions>, IOptions<ObservabilityOptions>>((kestrel, worker, observability) =>
        {
            kestrel.ListenAnyIP(worker.Value.HttpPort);
            // explicit listeners replace the server's address list, so a separate metrics port has to be listened on here too
            if (observability.Value.MetricsPort is { } metricsPort && metricsPort != worker.Value.HttpPort) kestrel.ListenAnyIP(metricsPort);
        });
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<EngineHealthCheck>("model", tags: ["ready"]);
        return services;
    }
}
