using KimiAudio.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace KimiAudio.Cli;

/// <summary>
/// The settings the services read, as the CLI sees them: the variables of .run/services.env (RABBITMQ_URI,
/// POSTGRES_CONNECTION, S3_*) mapped onto their sections by <see cref="WellKnownEnvironment"/>, overridden by
/// "Section__Key" environment variables and then by <paramref name="overrides"/> (the same order of precedence as the services).
/// </summary>
public static class ServiceConfiguration
{
    public static IConfiguration Build(IDictionary<string, string?>? overrides = null)
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        configuration.AddInMemoryCollection(overrides ?? new Dictionary<string, string?>());
        WellKnownEnvironment.AddTo(configuration); // inserted first: the lowest priority
        return configuration;
    }
}
