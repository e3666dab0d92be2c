using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace KimiAudio.Infrastructure;

/// <summary>
/// Maps the environment variables that infra/services.sh exports (.run/services.env) onto configuration keys, as the
/// lowest-priority source: appsettings and "Section__Key" variables still win. The services (through AddServiceDefaults)
/// and the kimia CLI both read their settings this way.
/// </summary>
public static class WellKnownEnvironment
{
    private static readonly (string Variable, string Key)[] Map =
    [
        ("RABBITMQ_URI", "RabbitMq:Uri"),
        ("POSTGRES_CONNECTION", "Database:ConnectionString"),
        ("S3_SERVICE_URL", "S3:ServiceUrl"),
        ("S3_ACCESS_KEY", "S3:AccessKey"),
        ("S3_SECRET_KEY", "S3:SecretKey"),
        ("S3_EMULATOR", "S3:Emulator"),
    ];

    /// <summary>Inserts the mapped variables as the first (lowest-priority) source of <paramref name="configuration"/>.</summary>
    public static void AddTo(IConfigurationManager configuration)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in Map)
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) data[key] = value;
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = data });
    }
}
