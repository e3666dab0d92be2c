using Microsoft.Extensions.DependencyInjection.Extensions;

namespace KimiAudio.Orchestrator.Schedules;

public static class ScheduleServices
{
    /// <summary>Schedule storage and the runner (registered after the schema check and the bus, which it needs).</summary>
    public static IServiceCollection AddSchedules(this IServiceCollection services)
    {
        services.AddOptions<ScheduleOptions>().BindConfiguration(ScheduleOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ScheduleRepository>();
        services.AddSingleton<ScheduleRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<ScheduleRunner>());
        return services;
    }
}
