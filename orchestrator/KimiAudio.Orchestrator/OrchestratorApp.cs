using KimiAudio.Orchestrator.Batches;
using KimiAudio.ServiceDefaults;

namespace KimiAudio.Orchestrator;

/// <summary>Builds the orchestrator web app; Program.cs runs it, tests host it in-process.</summary>
public static class OrchestratorApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.Services.AddOrchestrator();
        var app = builder.Build();
        app.MapHealthChecks("/health");
        app.MapBatchEndpoints();
        return app;
    }
}
