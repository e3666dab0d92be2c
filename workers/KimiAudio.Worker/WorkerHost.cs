using MassTransit;
using KimiAudio.Infrastructure;
using KimiAudio.ServiceDefaults;
using KimiAudio.Worker.Consumers;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KimiAudio.Worker;

/// <summary>Builds the worker host. Program.cs uses the defaults; a test host adds engine kinds of its own.</summary>
public static class WorkerHost
{
    public static IHost Build(string[] args, IReadOnlyDictionary<string, Func<IServiceProvider, IInferenceEngine>>? extraEngineKinds = null)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddServiceDefaults();
        builder.Services.AddWorker(extraEngineKinds);
        return builder.Build();
    }

    public static IServiceCollection AddWorker(
        this IServiceCollection services, IReadOnlyDictionary<string, Func<IServiceProvider, IInferenceEngine>>? extraEngineKinds = null)
    {
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // order matters: the schema check and the engine load run before the bus starts taking messages
        services.AddPipelineResilience();
        services.AddPipelineDatabase();
        services.AddObjectStore();
        services.AddInferenceEngine(extraEngineKinds);
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<JobRepository>();
        services.AddSingleton<JobProcessor>();
        services.AddPipelineMessaging(x => x.AddConsumer<ProcessAudioConsumer, ProcessAudioConsumerDefinition>());
        return services;
    }
}
