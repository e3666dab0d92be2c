using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Dapper;
using KimiAudio.Configuration;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Data;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Migrator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RabbitMQ.Client;

namespace KimiAudio.Cli;

/// <summary>The checks of `kimia doctor`. Each returns a line of detail (null: not configured, skipped) or throws <see cref="DoctorProblem"/>.</summary>
public sealed class DoctorChecks(IConfiguration config, Uri api, string? apiKey, string? modelFolder, string? bucket, int timeoutSeconds)
{
    /// <summary>A detail starting with this marks a check that did not run (optional, not configured).</summary>
    public const string Skipped = "skipped: ";
    private const string StartServices = "start the services (`infra/services.sh start`, then `source .run/services.env`)";

    public IEnumerable<(string Name, Func<CancellationToken, Task<string?>> Check)> All() =>
    [
        ("broker", BrokerAsync),
        ("management", ManagementAsync),
        ("database", DatabaseAsync),
        ("storage", StorageAsync),
        ("model", ct => Task.FromResult(Model())),
        ("api", ApiAsync),
    ];

    public string HowToStart(string check) => check switch
    {
        "broker" or "management" => $"is RabbitMQ running at the address in RABBITMQ_URI / RabbitMq__Uri? {StartServices}",
        "database" => $"is PostgreSQL running at the address in POSTGRES_CONNECTION / Database__ConnectionString? {StartServices}",
        "storage" => $"is the S3 server at S3_SERVICE_URL / S3__ServiceUrl running, and are S3_ACCESS_KEY / S3_SECRET_KEY right? {StartServices}",
        "api" => $"is the orchestrator running at {api}? start it, or point --api / KIMIA_API at it",
        _ => "see docs/operators.md",
    };

    private async Task<string?> BrokerAsync(CancellationToken ct)
    {
        var uri = Required("RabbitMq:Uri");
        var factory = new ConnectionFactory
        {
            Uri = new Uri(uri), RequestedConnectionTimeout = TimeSpan.FromSeconds(timeoutSeconds), AutomaticRecoveryEnabled = false,
            ClientProvidedName = "kimia doctor",
        };
        try
        {
            await using var connection = await factory.CreateConnectionAsync(ct);
            var version = connection.ServerProperties?.TryGetValue("version", out var v) == true && v is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "?";
            return $"{Redact(uri)}: AMQP connection opened (RabbitMQ {version})";
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
        {
            var reason = ex.InnerException?.Message ?? ex.Message;
            throw reason.Contains("ACCESS_REFUSED", StringComparison.Ordinal) || reason.Contains("access to vhost", StringComparison.OrdinalIgnoreCase)
                ? new DoctorProblem($"{Redact(uri)}: refused ({reason})", "check the user, password and vhost in RABBITMQ_URI / RabbitMq__Uri")
                : new DoctorProblem($"{Redact(uri)}: unreachable ({reason})", HowToStart("broker"));
        }
    }

    private async Task<string?> ManagementAsync(CancellationToken ct)
    {
        if (config["RABBITMQ_MANAGEMENT_URI"] is not { Length: > 0 } management) return Skipped + "RABBITMQ_MANAGEMENT_URI is not set (optional)";
        var amqp = config["RabbitMq:Uri"] is { Length: > 0 } u ? new Uri(u) : null;
        var user = config["RABBITMQ_USER"] ?? Uri.UnescapeDataString(amqp?.UserInfo.Split(':')[0] ?? "guest");
        var password = config["RABBITMQ_PASSWORD"] ?? Uri.UnescapeDataString(amqp?.UserInfo.Split(':').ElementAtOrDefault(1) ?? "guest");
        using var http = new HttpClient { BaseAddress = new Uri(management), Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var response = await http.GetAsync("api/overview", ct);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            throw new DoctorProblem($"{management}: user '{user}' refused", "set RABBITMQ_USER / RABBITMQ_PASSWORD to a management user");
        if (!response.IsSuccessStatusCode) throw new DoctorProblem($"{management}api/overview answered {(int)response.StatusCode}", "enable the rabbitmq_management plugin");
        return $"{management}: management API answers";
    }

    private async Task<string?> DatabaseAsync(CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(Required(DatabaseOptions.ConnectionStringKey)) { Timeout = timeoutSeconds, Pooling = false };
        var where = $"{builder.Host}:{builder.Port}/{builder.Database}";
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or PostgresException)
        {
            throw ex is PostgresException { SqlState: "3D000" }
                ? new DoctorProblem($"{where}: database '{builder.Database}' does not exist", "create and migrate it: `kimia migrate` (creates the database)")
                : new DoctorProblem($"{where}: cannot connect ({ex.Message})", HowToStart("database"));
        }
        var journal = await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT to_regclass('public.schemaversions') IS NOT NULL", cancellationToken: ct));
        var applied = journal
            ? (await connection.QueryAsync<string>(new CommandDefinition("SELECT scriptname FROM public.schemaversions", cancellationToken: ct))).ToHashSet(StringComparer.Ordinal)
            : [];
        var missing = DatabaseMigrator.Scripts().Select(s => s.Name).Where(n => !applied.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new DoctorProblem($"{where}: migration(s) not applied: {string.Join(", ", missing)}", "run `kimia migrate` (services refuse to start until then)");
        return $"{where}: connected, all {applied.Count} migration(s) applied";
    }

    private async Task<string?> StorageAsync(CancellationToken ct)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Resilience:S3MaxRetries"] = "0",
            ["S3:RequestTimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var endpoint = config["S3:ServiceUrl"] is { Length: > 0 } url ? url : "AWS S3";
        if (string.IsNullOrEmpty(config["S3:AccessKey"]) || string.IsNullOrEmpty(config["S3:SecretKey"]))
            throw new DoctorProblem($"{endpoint}: no credentials", "set S3_ACCESS_KEY and S3_SECRET_KEY (or S3__AccessKey / S3__SecretKey)");
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddConfiguration(config).AddInMemoryCollection(settings).Build())
            .AddPipelineResilience()
            .AddObjectStore()
            .BuildServiceProvider();
        var s3 = services.GetRequiredService<IAmazonS3>();
        var store = services.GetRequiredService<IObjectStore>();
        ListBucketsResponse buckets;
        try
        {
            buckets = await s3.ListBucketsAsync(ct);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new DoctorProblem($"{endpoint}: credentials refused ({ex.ErrorCode})", "check S3_ACCESS_KEY / S3_SECRET_KEY");
        }
        catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or HttpRequestException or Amazon.Runtime.AmazonClientException)
        {
            throw new DoctorProblem($"{endpoint}: unreachable ({ex.Message})", HowToStart("storage"));
        }
        var names = buckets.Buckets?.Select(b => b.BucketName).ToList() ?? [];
        var target = bucket ?? names.FirstOrDefault();
        if (target is null) return $"{endpoint}: listed 0 buckets (no bucket to probe: pass --bucket to test put/delete)";
        if (bucket is not null && !names.Contains(bucket))
            throw new DoctorProblem($"{endpoint}: bucket '{bucket}' does not exist", "create it (`kimia upload <folder> s3://<bucket>/...` creates it) or pass another --bucket");
        var key = $"kimia-doctor/probe-{Guid.NewGuid():N}";
        var probe = "kimia doctor probe"u8.ToArray();
        try
        {
            await store.PutAsync(target, key, probe, "text/plain", ct);
            var head = await store.HeadAsync(target, key, ct);
            if (head?.Size != probe.Length) throw new DoctorProblem($"{endpoint}: s3://{target}/{key} written but reads back as {head?.Size.ToString() ?? "missing"}", "check the S3 server (S3_EMULATOR=true for s3rver)");
        }
        finally
        {
            await s3.DeleteObjectAsync(target, key, CancellationToken.None);
        }
        if (await store.HeadAsync(target, key, ct) is not null) throw new DoctorProblem($"{endpoint}: probe s3://{target}/{key} not deleted", "check delete permission on the bucket");
        return $"{endpoint}: {names.Count} bucket(s); put, read back and deleted s3://{target}/kimia-doctor/probe-…";
    }

    private string? Model()
    {
        var folder = modelFolder ?? config["Engine:ModelPath"];
        if (string.IsNullOrWhiteSpace(folder)) return Skipped + "no --model or Engine__ModelPath (needed on worker hosts only)";
        return ModelFolderCheck.Run(folder, Optional("Engine:GlmTokenizerPath"), Optional("Engine:DetokenizerPath"), Optional("Engine:VocoderPath"));
    }

    private async Task<string?> ApiAsync(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        HttpResponseMessage health;
        try
        {
            health = await http.GetAsync("/health", ct);
        }
        catch (HttpRequestException ex)
        {
            throw new DoctorProblem($"{api}: unreachable ({ex.Message})", HowToStart("api"));
        }
        using (health)
            if (!health.IsSuccessStatusCode) throw new DoctorProblem($"{api}health answered {(int)health.StatusCode}", "read the orchestrator's log (a dependency is down?)");
        var key = apiKey ?? Environment.GetEnvironmentVariable(ApiClient.ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(key)) throw new DoctorProblem($"{api}: healthy, but no API key to try", $"pass --api-key or set {ApiClient.ApiKeyVariable} (create one with `kimia keys create <name>`)");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/batches?limit=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Trim());
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            throw new DoctorProblem($"{api}: the API key is refused (invalid or revoked)", $"create a key with `kimia keys create <name>` and set {ApiClient.ApiKeyVariable}");
        if (!response.IsSuccessStatusCode) throw new DoctorProblem($"{api}batches answered {(int)response.StatusCode}", "read the orchestrator's log");
        return $"{api}: healthy, API key accepted";
    }

    private string Required(string key)
        => config[key] is { Length: > 0 } value ? value
            : throw new DoctorProblem($"{key} is not set", $"set {WellKnownEnvironment.Spellings(key)} (see .run/services.env)");

    private string? Optional(string key) => config[key] is { Length: > 0 } value ? value : null;

    private static string Redact(string uri)
    {
        var u = new Uri(uri);
        return u.UserInfo.Length == 0 ? uri : uri.Replace(u.UserInfo + "@", u.UserInfo.Split(':')[0] + ":***@", StringComparison.Ordinal);
    }
}
