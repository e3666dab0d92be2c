using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>`kimia doctor` on the live services: every check passes; a broken piece fails by name with exit code 1.</summary>
public sealed class DoctorTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private DirectoryInfo model = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.StartOrchestratorAsync();
        model = Directory.CreateTempSubdirectory("kimia-doctor-model-");
        // the official layout, by name (doctor only checks that the files are there)
        Touch("config.json", "{}");
        Touch("tiktoken.model", "");
        Touch("model.safetensors.index.json", """{"metadata": {}, "weight_map": {"a.weight": "model-1-of-2.safetensors", "b.weight": "model-2-of-2.safetensors"}}""");
        Touch("model-1-of-2.safetensors", "");
        Touch("model-2-of-2.safetensors", "");
        foreach (var folder in new[] { "whisper-large-v3", "glm-4-voice-tokenizer" })
        {
            Touch($"{folder}/config.json", "{}");
            Touch($"{folder}/model.safetensors", "");
        }
        Touch("audio_detokenizer/config.yaml", "");
        Touch("audio_detokenizer/model.pt", "");
        Touch("vocoder/config.json", "{}");
        Touch("vocoder/model.pt", "");
    }

    public async Task DisposeAsync()
    {
        await p.DisposeAsync();
        model.Delete(recursive: true);
    }

    private void Touch(string relative, string text)
    {
        var path = Path.Combine(model.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    /// <summary>The settings of this test's services, as services.env gives them (and nothing else from the test's environment).</summary>
    private Dictionary<string, string?> Environment(Action<Dictionary<string, string?>>? change = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["RABBITMQ_URI"] = p.RabbitMqUri,
            ["RABBITMQ_MANAGEMENT_URI"] = ServiceSettings.RabbitMqManagementUri,
            ["RABBITMQ_USER"] = ServiceSettings.RabbitMqUser,
            ["RABBITMQ_PASSWORD"] = ServiceSettings.RabbitMqPassword,
            ["POSTGRES_CONNECTION"] = p.ConnectionString,
            ["S3_SERVICE_URL"] = ServiceSettings.S3ServiceUrl,
            ["S3_ACCESS_KEY"] = ServiceSettings.S3AccessKey,
            ["S3_SECRET_KEY"] = ServiceSettings.S3SecretKey,
            ["S3_EMULATOR"] = ServiceSettings.S3Emulator ? "true" : "false",
            ["KIMIA_API"] = p.Api.BaseAddress!.ToString(),
            ["KIMIA_API_KEY"] = p.ApiKey,
            ["Engine__ModelPath"] = model.FullName,
        };
        change?.Invoke(env);
        return env;
    }

    private static string Line(KimiaCli.Outcome run, string check)
        => Assert.Single(run.Stdout.Split('\n'), l => l.Length > 5 && l[5..].StartsWith(check + " ", StringComparison.Ordinal));

    [Fact]
    public async Task Every_check_passes_on_the_live_services()
    {
        var run = await KimiaCli.RunAsync(Environment(), "doctor", "--bucket", p.Bucket);
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var check in new[] { "broker", "management", "database", "storage", "model", "api" })
            Assert.StartsWith("OK ", Line(run, check));
        var migrations = Directory.GetFiles(Path.Combine(ServiceSettings.RepositoryRoot(), "migrations"), "*.sql").Length;
        Assert.Contains($"{migrations} migration(s) applied", Line(run, "database"));
        Assert.Contains("speech output", Line(run, "model"));
        Assert.Contains($"s3://{p.Bucket}/kimia-doctor/", Line(run, "storage"));
        Assert.Equal(0, await p.CountObjectsAsync("kimia-doctor/")); // the probe is gone
        Assert.EndsWith("all checks passed", run.Stdout);
    }

    [Fact]
    public async Task A_broken_piece_fails_by_name_with_how_to_fix_it_and_exit_code_1()
    {
        var wrongPort = new UriBuilder(p.RabbitMqUri) { Port = 1 }.Uri.ToString();
        var broker = await KimiaCli.RunAsync(Environment(e => e["RABBITMQ_URI"] = wrongPort), "doctor", "--timeout", "5");
        Assert.Equal(1, broker.ExitCode);
        Assert.StartsWith("FAIL broker", Line(broker, "broker"));
        Assert.Contains("127.0.0.1:1", Line(broker, "broker"));
        Assert.Contains("Fix:", Line(broker, "broker"));
        Assert.StartsWith("OK ", Line(broker, "database"));
        Assert.StartsWith("OK ", Line(broker, "api"));
        Assert.EndsWith("1 check(s) failed", broker.Stdout);

        var noModel = await KimiaCli.RunAsync(Environment(), "doctor", "--model", Path.Combine(model.FullName, "nowhere"));
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains("nowhere' does not exist", Line(noModel, "model"));
        Assert.Contains("generate-tiny", Line(noModel, "model"));

        File.Delete(Path.Combine(model.FullName, "model-2-of-2.safetensors"));
        File.Delete(Path.Combine(model.FullName, "vocoder", "model.pt"));
        var shard = await KimiaCli.RunAsync(Environment(), "doctor");
        Assert.Equal(1, shard.ExitCode);
        Assert.Contains("model-2-of-2.safetensors", Line(shard, "model"));
        Assert.Contains(Path.Combine("vocoder", "model.pt"), Line(shard, "model"));

        var database = await KimiaCli.RunAsync(Environment(e => e["POSTGRES_CONNECTION"] = p.ConnectionString.Replace("kimia_test_", "kimia_none_", StringComparison.Ordinal)), "doctor");
        Assert.Equal(1, database.ExitCode);
        Assert.Contains("does not exist", Line(database, "database"));

        var key = await KimiaCli.RunAsync(Environment(e => e["KIMIA_API_KEY"] = "kimia_000000000000_nope"), "doctor");
        Assert.Equal(1, key.ExitCode);
        Assert.Contains("API key is refused", Line(key, "api"));
    }
}
