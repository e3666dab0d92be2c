using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.Orchestrator.Browser;
using KimiAudio.Orchestrator.Jobs;
using KimiAudio.Orchestrator.Schedules;
using KimiAudio.ServiceDefaults;
using KimiAudio.ServiceDefaults.Observability;

namespace KimiAudio.Orchestrator;

/// <summary>Builds the orchestrator web app; Program.cs runs it, tests host it in-process.</summary>
public static class OrchestratorApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.Services.AddOrchestrator();
        builder.Services.AddResultsBrowser();
        builder.Services.AddOrchestratorOpenApi();
        builder.Services.AddApiSecurity();
        var app = builder.Build();
        app.UseApiSecurity();
        app.MapResultsBrowser();
        app.MapHealthChecks("/health").AllowAnonymous();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready").AllowAnonymous();
        app.MapBatchEndpoints();
        app.MapScheduleEndpoints();
        app.MapObservability();
        app.MapResultEndpoints();
        app.MapOrchestratorOpenApi();
        return app;
    }
}
