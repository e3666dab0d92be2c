namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// Where the real services are: the variables infra/services.sh exports (.run/services.env). When the variables are not
/// in the environment, .run/services.env of the repository is read. A missing service fails the test with a clear message.
/// </summary>
public static class ServiceSettings
{
    private static readonly Lazy<Dictionary<string, string>> FromFile = new(ReadServicesEnv);

    public static string RabbitMqUri => Get("RABBITMQ_URI");
    public static string RabbitMqManagementUri => Get("RABBITMQ_MANAGEMENT_URI");
    public static string RabbitMqUser => Get("RABBITMQ_USER");
    public static string RabbitMqPassword => Get("RABBITMQ_PASSWORD");
    public static string PostgresConnection => Get("POSTGRES_CONNECTION");
    public static string S3ServiceUrl => Get("S3_SERVICE_URL");
    public static string S3AccessKey => Get("S3_ACCESS_KEY");
    public static string S3SecretKey => Get("S3_SECRET_KEY");
    public static bool S3Emulator => string.Equals(Get("S3_EMULATOR"), "true", StringComparison.OrdinalIgnoreCase);
    public static string ServicesScript => Get("KIMIA_SERVICES_SCRIPT");

    public static string Get(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
            : FromFile.Value.TryGetValue(name, out var fileValue) ? fileValue
            : throw new InvalidOperationException(
                $"{name} is not set. The pipeline tests need the real services: run `infra/services.sh install && infra/services.sh start` " +
                "and `source .run/services.env` (or use ./test.sh, which does both).");

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KimiAudio.Pipeline.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (KimiAudio.Pipeline.sln) not found above " + AppContext.BaseDirectory);
    }

    private static Dictionary<string, string> ReadServicesEnv()
    {
        var values = new Dictionary<string, string>();
        var path = Path.Combine(RepositoryRoot(), ".run", "services.env");
        if (!File.Exists(path)) return values;
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (!line.StartsWith("export ", StringComparison.Ordinal)) continue;
            var eq = line.IndexOf('=');
            if (eq < 0) continue;
            values[line[7..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
        }
        return values;
    }
}
