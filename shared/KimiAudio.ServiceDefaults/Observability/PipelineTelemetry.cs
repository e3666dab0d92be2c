namespace KimiAudio.ServiceDefaults.Observability;

/// <summary>Names of the pipeline's own activity sources and meters (every host listens to all of them).</summary>
public static class PipelineTelemetry
{
    /// <summary>Prefix of every ActivitySource and Meter the pipeline creates ("KimiAudio.Worker", "KimiAudio.Orchestrator", ...).</summary>
    public const string Prefix = "KimiAudio.";
    public const string WorkerName = Prefix + "Worker";
    public const string OrchestratorName = Prefix + "Orchestrator";

    /// <summary>MassTransit's ActivitySource and Meter (trace context travels in the message headers).</summary>
    public const string MassTransitName = "MassTransit";
}
