using KimiAudio.Infrastructure;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.Orchestrator.Metrics;
using KimiAudio.Orchestrator.Jobs;
using KimiAudio.Orchestrator.Schedules;
using KimiAudio.Orchestrator.Sweeper;
using KimiAudio.ServiceDefaults;

namespace KimiAudio.Orchestrator;

public static class OrchestratorServices
{
    public static IServiceCollection AddOrchestrator(this IServiceCollection services)
    {
        services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SweeperOptions>().BindConfiguration(SweeperOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // order matters: the schema check runs before the bus and the sweeper start
        services.AddPipelineResilience();
        services.AddPipelineDatabase();
        services.AddObjectStore();
        services.AddSingleton<BatchRepository>();
        services.AddSingleton<SweepRepository>();
        services.AddSingleton<SourceReader>();
        services.AddSingleton<OrchestratorInstance>();
        services.AddSingleton<BatchSubmitter>();
        services.AddSingleton<FailedJobRetrier>();
        services.AddSingleton<ResultRepository>();
        services.AddPipelineMessaging(_ => { });
        services.AddHostedService<LeaseSweeper>();
        services.AddHostedService<SubmissionResumer>();
        services.AddSchedules();
        services.AddPipelineGauges();
        return services;
    }
}
