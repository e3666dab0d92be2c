using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace KimiAudio.Chaos;

/// <summary>Where the local services are (the variables infra/services.sh writes to .run/services.env) and how to restart them.</summary>
public sealed record ChaosServices(
    string RabbitMqUri, string RabbitMqManagementUri, string RabbitMqUser, string RabbitMqPassword,
    string PostgresConnection, string S3ServiceUrl, string S3AccessKey, string S3SecretKey, bool S3Emulator, string ServicesScript)
{
    /// <summary>From the environment, else from .run/services.env of the repository above the working directory.</summary>
    public static ChaosServices FromEnvironment()
    {
        var file = ReadServicesEnv();
        string Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v
            : file.TryGetValue(name, out var f) ? f
            : throw new InvalidOperationException($"{name} is not set: run infra/services.sh start and source .run/services.env");
        return new ChaosServices(Get("RABBITMQ_URI"), Get("RABBITMQ_MANAGEMENT_URI"), Get("RABBITMQ_USER"), Get("RABBITMQ_PASSWORD"),
            Get("POSTGRES_CONNECTION"), Get("S3_SERVICE_URL"), Get("S3_ACCESS_KEY"), Get("S3_SECRET_KEY"),
            string.Equals(Get("S3_EMULATOR"), "true", StringComparison.OrdinalIgnoreCase), Get("KIMIA_SERVICES_SCRIPT"));
    }

    /// <summary>Runs infra/services.sh (e.g. restart postgres) against exactly these services (their ports passed on).</summary>
    public async Task RunScriptAsync(CancellationToken ct, params string[] args)
    {
        var info = new ProcessStartInfo(ServicesScript) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        var inv = CultureInfo.InvariantCulture;
        info.Environment["KIMIA_RABBITMQ_PORT"] = new Uri(RabbitMqUri).Port.ToString(inv);
        info.Environment["KIMIA_RABBITMQ_MANAGEMENT_PORT"] = new Uri(RabbitMqManagementUri).Port.ToString(inv);
        info.Environment["KIMIA_POSTGRES_PORT"] = new NpgsqlConnectionStringBuilder(PostgresConnection).Port.ToString(inv);
        info.Environment["KIMIA_S3_PORT"] = new Uri(S3ServiceUrl).Port.ToString(inv);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not run {ServicesScript}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(8)); // a RabbitMQ restart on a loaded box takes minutes
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"services.sh {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
    }

    private static Dictionary<string, string> ReadServicesEnv()
    {
        var values = new Dictionary<string, string>();
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, ".run", "services.env");
            if (!File.Exists(path)) continue;
            foreach (var raw in File.ReadAllLines(path))
            {
                var line = raw.Trim();
                if (!line.StartsWith("export ", StringComparison.Ordinal) || line.IndexOf('=') is var eq && eq < 0) continue;
                values[line[7..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
            }
            break;
        }
        return values;
    }
}
