using Microsoft.Extensions.Configuration;

namespace KimiAudio.Cli;

/// <summary>
/// The settings the services read, as the CLI sees them: the variables of .run/services.env (RABBITMQ_URI,
/// POSTGRES_CONNECTION, S3_*) mapped onto their sections, overridden by "Section__Key" environment variables and
/// then by <paramref name="overrides"/> (the same order of precedence as the services).
/// </summary>
public static class ServiceConfiguration
{
    private static readonly (string Variable, string Key)[] WellKnown =
    [
        ("RABBITMQ_URI", "RabbitMq:Uri"),
        ("POSTGRES_CONNECTION", "Database:ConnectionString"),
        ("S3_SERVICE_URL", "S3:ServiceUrl"),
        ("S3_ACCESS_KEY", "S3:AccessKey"),
        ("S3_SECRET_KEY", "S3:SecretKey"),
        ("S3_EMULATOR", "S3:Emulator"),
    ];

    public static IConfiguration Build(IDictionary<string, string?>? overrides = null)
    {
        var mapped = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in WellKnown)
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) mapped[key] = value;
        return new ConfigurationBuilder()
            .AddInMemoryCollection(mapped)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(overrides ?? new Dictionary<string, string?>())
            .Build();
    }
}
