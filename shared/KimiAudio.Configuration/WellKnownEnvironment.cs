using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace KimiAudio.Configuration;

/// <summary>
/// THE translation from environment variables to configuration keys. The options classes are the one spelling of every
/// setting ("Section:Key", set from the environment as "Section__Key"); the only other names accepted are the variables
/// that infra/services.sh exports (.run/services.env), mapped here onto their keys as the lowest-priority source, so that
/// appsettings and "Section__Key" variables still win. The services (through AddServiceDefaults), the kimia CLI and the
/// migrator all read their settings this way.
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
        ("KIMIA_VAD_MODEL", "Segmentation:VadModelPath"),
    ];

    /// <summary>The mapped variables and the configuration key each one sets.</summary>
    public static IReadOnlyList<(string Variable, string Key)> Variables => Map;

    /// <summary>The configuration key that an environment variable sets: a mapped name, or "Section__Key" read as "Section:Key".</summary>
    public static string KeyOf(string variable)
    {
        foreach (var (v, key) in Map)
            if (string.Equals(v, variable, StringComparison.Ordinal)) return key;
        return variable.Replace("__", ":", StringComparison.Ordinal);
    }

    /// <summary>How a key is set from the environment, for error messages: "Database__ConnectionString (or POSTGRES_CONNECTION)".</summary>
    public static string Spellings(string key)
    {
        var variable = key.Replace(":", "__", StringComparison.Ordinal);
        foreach (var (v, k) in Map)
            if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return $"{variable} (or {v})";
        return variable;
    }

    /// <summary>Inserts the mapped variables as the first (lowest-priority) source of <paramref name="configuration"/>.</summary>
    public static void AddTo(IConfigurationManager configuration)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in Map)
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) data[key] = value;
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = data });
    }

    /// <summary>
    /// The settings the services read, for a process without a host (CLI, migrator): the mapped variables, overridden by
    /// "Section__Key" environment variables and then by <paramref name="overrides"/> (the services' order of precedence).
    /// </summary>
    public static IConfiguration Build(IDictionary<string, string?>? overrides = null)
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        configuration.AddInMemoryCollection(overrides ?? new Dictionary<string, string?>());
        AddTo(configuration); // inserted first: the lowest priority
        return configuration;
    }
}
