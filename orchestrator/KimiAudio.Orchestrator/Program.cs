using KimiAudio.Orchestrator;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddOrchestrator();

var app = builder.Build();
app.MapHealthChecks("/health");
app.MapBatchEndpoints();
app.Run();

/// <summary>Entry point type, visible to tests (WebApplicationFactory-style hosting).</summary>
public partial class Program;
