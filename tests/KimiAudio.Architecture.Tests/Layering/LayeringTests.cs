namespace KimiAudio.Architecture.Tests.Layering;

/// <summary>The layering of the solution, read from the project files and restore graphs.</summary>
public sealed class LayeringTests
{
    private static readonly ProjectGraph Graph = ProjectGraph.Load(Repo.Root);

    /// <summary>Messaging, SQL, S3 and hosting packages.</summary>
    private static readonly string[] ServicePackages =
        ["MassTransit", "RabbitMQ.", "Npgsql", "Dapper", "dbup", "AWSSDK.", "Microsoft.Extensions.Hosting", "Microsoft.AspNetCore.", "Polly"];

    private static readonly string[] Torch = ["TorchSharp", "libtorch"];

    [Fact]
    public void The_graph_holds_every_project_of_the_solution()
    {
        foreach (var p in new[] { "KimiAudio.Model", "KimiAudio.Model.TinyCheckpoints", "KimiAudio.Orchestrator", "KimiAudio.Worker", "KimiAudio.ServiceDefaults", "KimiAudio.Infrastructure", "KimiAudio.Configuration", "KimiAudio.Migrator", "KimiAudio.Cli" })
            Assert.Contains(p, Graph.References.Keys);
        Assert.Contains("KimiAudio.Model", Graph.Reach("KimiAudio.Worker"));
        Assert.Contains("TorchSharp", Graph.Packages["KimiAudio.Model"]!);
        Assert.Contains("MassTransit", Graph.Packages["KimiAudio.Orchestrator"]!);
    }

    [Fact]
    public void The_model_library_references_no_messaging_sql_s3_or_hosting_package() =>
        Assert.Empty(Graph.Forbidden("KimiAudio.Model", ServicePackages, projects: Graph.References.Keys.Where(p => p != "KimiAudio.Model"),
            frameworks: ["Microsoft.AspNetCore.App"]));

    [Fact]
    public void The_orchestrator_never_reaches_torchsharp_or_the_model() =>
        Assert.Empty(Graph.Forbidden("KimiAudio.Orchestrator", Torch, projects: ["KimiAudio.Model", "KimiAudio.Model.TinyCheckpoints", "KimiAudio.Worker"]));

    [Fact]
    public void Service_defaults_do_not_need_infrastructure() =>
        Assert.Empty(Graph.Forbidden("KimiAudio.ServiceDefaults", ["AWSSDK.", "Dapper", "Polly"], projects: ["KimiAudio.Infrastructure"]));

    [Fact]
    public void The_worker_ships_without_the_tiny_checkpoint_writers() =>
        Assert.Empty(Graph.Forbidden("KimiAudio.Worker", [], projects: ["KimiAudio.Model.TinyCheckpoints"]));

    [Fact]
    public void Project_references_have_no_cycles() => Assert.Empty(Graph.Cycles());

    [Fact]
    public void The_checks_report_a_cycle_and_a_forbidden_reference()
    {
        var g = new ProjectGraph();
        g.References["A"] = ["B"];
        g.References["B"] = ["C"];
        g.References["C"] = ["A"];
        g.References["D"] = ["A"];
        g.Frameworks["C"] = ["Microsoft.AspNetCore.App"];
        g.Packages["D"] = new(StringComparer.OrdinalIgnoreCase) { "MassTransit.RabbitMQ", "Newtonsoft.Json" };
        Assert.Equal(["A -> B -> C -> A"], g.Cycles());
        Assert.Equal(["D reaches package MassTransit.RabbitMQ", "D reaches project C", "D reaches framework Microsoft.AspNetCore.App (through C)"],
            g.Forbidden("D", ServicePackages, projects: ["C"], frameworks: ["Microsoft.AspNetCore.App"]));
        Assert.Throws<InvalidOperationException>(() => g.Forbidden("A", ServicePackages));
    }
}
