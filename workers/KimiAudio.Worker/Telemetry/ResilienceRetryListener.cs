using Polly.Telemetry;

namespace KimiAudio.Worker.Telemetry;

/// <summary>Counts the retries of the "s3" and "postgres" resilience pipelines as kimiaudio.worker.retries{kind=pipeline name}.</summary>
public sealed class ResilienceRetryListener(WorkerTelemetry telemetry) : TelemetryListener
{
    public override void Write<TResult, TArgs>(in TelemetryEventArguments<TResult, TArgs> args)
    {
        if (args.Event.EventName == "OnRetry") telemetry.Retried(args.Source.PipelineName ?? "unnamed");
    }
}
