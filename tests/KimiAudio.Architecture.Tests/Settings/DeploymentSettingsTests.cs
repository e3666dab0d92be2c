using System.Reflection;
using KimiAudio.Configuration;
using KimiAudio.Infrastructure.Data;
using KimiAudio.ServiceDefaults;

namespace KimiAudio.Architecture.Tests.Settings;

/// <summary>
/// Every setting written in infra/ (k8s base, overlays, components, jobs; Compose; Dockerfiles) binds to a real options
/// property or is a documented standard variable, and every deployment gives each app the options it cannot start without.
/// </summary>
public sealed class DeploymentSettingsTests
{

    private static readonly Assembly Orchestrator = typeof(KimiAudio.Orchestrator.OrchestratorOptions).Assembly;
    private static readonly Assembly Worker = typeof(KimiAudio.Worker.Engine.EngineOptions).Assembly;
    private static readonly Assembly Infrastructure = typeof(DatabaseOptions).Assembly;
    private static readonly Assembly ServiceDefaults = typeof(RabbitMqOptions).Assembly;

    /// <summary>The options each app binds: its own, plus the shared ones (the migrator reads only the database).</summary>
    private static OptionsCatalog CatalogOf(App app) => app switch
    {
        App.Orchestrator => OptionsCatalog.Of(Orchestrator, Infrastructure, ServiceDefaults),
        App.Worker => OptionsCatalog.Of(Worker, Infrastructure, ServiceDefaults),
        App.Migrator => new OptionsCatalog([typeof(DatabaseOptions)]),
        _ => throw new ArgumentOutOfRangeException(nameof(app)),
    };

    /// <summary>What an app cannot start without beyond [Required]: the torch engine needs its checkpoint folder.</summary>
    private static IEnumerable<string> ExtraRequired(App app) => app == App.Worker ? ["Engine:ModelPath"] : [];

    private static readonly OptionsCatalog All = OptionsCatalog.Of(Orchestrator, Worker, Infrastructure, ServiceDefaults);

    [Fact]
    public void The_catalog_finds_the_options_classes_of_every_app()
    {
        var sections = All.Types.Select(OptionsCatalog.SectionOf).ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[] { "Database", "RabbitMq", "S3", "Resilience", "Observability", "Orchestrator", "Engine", "Worker" })
            Assert.Contains(expected, sections);
        Assert.Contains("Database:ConnectionString", CatalogOf(App.Migrator).RequiredWithoutDefault());
        Assert.Contains("RabbitMq:Uri", CatalogOf(App.Worker).RequiredWithoutDefault());
    }

    [Fact]
    public void Every_setting_in_infra_binds_to_an_options_property_or_is_standard()
    {
        var infra = InfraSettings.Read(Repo.Path("infra"));
        Assert.Empty(infra.ReadProblems);
        Assert.True(infra.AppVariables.Count > 40, $"only {infra.AppVariables.Count} settings read: the reader misses files");
        Assert.Empty(Unbound(infra));
    }

    [Fact]
    public void Every_deployment_supplies_the_required_options_of_each_app()
    {
        var infra = InfraSettings.Read(Repo.Path("infra"));
        var deployments = infra.Containers.Select(c => c.Deployment).Distinct().ToList();
        Assert.Contains("compose", deployments);
        Assert.Contains("k8s overlays/dev", deployments);
        Assert.Contains("k8s overlays/production", deployments);
        foreach (var d in deployments)
            foreach (var app in Enum.GetValues<App>())
                Assert.True(infra.Containers.Any(c => c.Deployment == d && c.App == app), $"{d} runs no {app}");
        Assert.Empty(MissingRequired(infra));
    }

    [Fact]
    public void Infra_only_settings_are_all_used_and_the_queue_is_the_workers()
    {
        var infra = InfraSettings.Read(Repo.Path("infra"));
        Assert.Equal(ProcessAudioTopology.QueueName, infra.InfraConfig["WORK_QUEUE"]);
        var unused = infra.InfraConfig.Keys.Where(k => !infra.ConfigMapKeyUses.Contains("kimia-infra/" + k)).ToList();
        Assert.Empty(unused);
    }

    [Theory]
    [InlineData("Database__ConnectionString")]
    [InlineData("POSTGRES_CONNECTION")]
    [InlineData("engine__modelpath")]
    [InlineData("Engine__MaxBatchSize")]
    [InlineData("OTEL_SERVICE_NAME")]
    [InlineData("DOTNET_shutdownTimeoutSeconds")]
    [InlineData("Logging__Console__FormatterName")]
    public void Real_and_standard_names_bind(string variable) => Assert.Null(All.Problem(variable));

    [Theory]
    [InlineData("Engine__ModelPth", "no property 'ModelPth'")]
    [InlineData("Engine__ModelFolder", "no property 'ModelFolder'")]
    [InlineData("S3__Bucket", "no property 'Bucket'")]
    [InlineData("Worker__QueueName", "no property 'QueueName'")]
    [InlineData("ConnectionStrings__Postgres", "no options class has section 'ConnectionStrings'")]
    [InlineData("POSTGRES_CONECTION", "neither Section__Key")]
    [InlineData("S3__AccessKey__Id", "is a value")]
    public void Misspelled_names_are_refused(string variable, string reason) => Assert.Contains(reason, All.Problem(variable));

    [Fact]
    public void A_misspelled_key_in_a_manifest_or_a_missing_secret_fails_the_checks()
    {
        using var copy = TempInfra.Copy();
        File.AppendAllText(Path.Combine(copy.Root, "k8s", "base", "config.env"), "Engine__ModelPth=/models/x\n");
        var compose = Path.Combine(copy.Root, "docker-compose.yml");
        File.WriteAllText(compose, File.ReadAllText(compose).Replace("S3__SecretKey:", "S3__SecretKeys:", StringComparison.Ordinal));
        var secrets = Path.Combine(copy.Root, "k8s", "overlays", "dev", "secrets.yaml");
        File.WriteAllText(secrets, string.Join('\n', File.ReadAllLines(secrets).Where(l => !l.TrimStart().StartsWith("Database__ConnectionString:", StringComparison.Ordinal))));

        var infra = InfraSettings.Read(copy.Root);
        var unbound = Unbound(infra);
        Assert.Contains(unbound, p => p.Contains("Engine__ModelPth", StringComparison.Ordinal) && p.Contains("ConfigMap kimia-config", StringComparison.Ordinal));
        Assert.Contains(unbound, p => p.Contains("S3__SecretKeys", StringComparison.Ordinal) && p.Contains("docker-compose.yml", StringComparison.Ordinal));
        var missing = MissingRequired(infra);
        Assert.Contains(missing, p => p.StartsWith("k8s overlays/dev:", StringComparison.Ordinal) && p.Contains("Database:ConnectionString", StringComparison.Ordinal));
        Assert.Contains(missing, p => p.StartsWith("compose:", StringComparison.Ordinal) && p.Contains("S3:SecretKey", StringComparison.Ordinal));
        Assert.DoesNotContain(missing, p => p.StartsWith("k8s overlays/production:", StringComparison.Ordinal));
    }

    private static List<string> Unbound(InfraSettings infra) =>
        infra.AppVariables
            .Select(v => (v.Where, v.Variable, Problem: All.Problem(v.Variable)))
            .Where(v => v.Problem is not null)
            .Select(v => $"{v.Where}: {v.Variable}: {v.Problem}")
            .Distinct().ToList();

    private static List<string> MissingRequired(InfraSettings infra)
    {
        var problems = new List<string>();
        foreach (var c in infra.Containers)
        {
            var supplied = c.Variables.Select(WellKnownEnvironment.KeyOf).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var key in CatalogOf(c.App).RequiredWithoutDefault().Concat(ExtraRequired(c.App)))
                if (!supplied.Contains(key))
                    problems.Add($"{c.Deployment}: {c.Where} ({c.App}) does not set {key} ({WellKnownEnvironment.Spellings(key)})");
        }
        return problems;
    }
}
