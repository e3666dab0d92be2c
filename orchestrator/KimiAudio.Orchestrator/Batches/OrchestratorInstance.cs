namespace KimiAudio.Orchestrator.Batches;

/// <summary>This orchestrator process, as the owner of the submissions it writes (batches.submit_owner).</summary>
public sealed class OrchestratorInstance
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
