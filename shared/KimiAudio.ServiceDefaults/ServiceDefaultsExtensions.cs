using KimiAudio.Configuration;
using KimiAudio.ServiceDefaults.Observability;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    /// <summary>Environment mapping, compact console logging and health checks shared by every service.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        WellKnownEnvironment.AddTo(builder.Configuration);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Polly", LogLevel.Warning); // one line per attempt otherwise
        builder.Services.AddHealthChecks();
        builder.AddObservability();
        return builder;
    }

    /// <summary>
    /// MassTransit on RabbitMQ: kebab-case endpoint names, options validated at start, the bus started before the host
    /// reports started, and the work-queue topology bound by publishers.
    /// </summary>
    public static IServiceCollection AddPipelineMessaging(this IServiceCollection services, Action<IBusRegistrationConfigurator> configure)
    {
        services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            configure(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Uri));
                ProcessAudioTopology.BindWorkQueue(cfg);
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }
}
