namespace KimiAudio.Worker.Engine;

/// <summary>The model cannot take this request (unknown task, input it cannot handle). Permanent: the job fails without retries.</summary>
public sealed class EngineRejectedException(Guid jobId, string reason) : Exception(reason)
{
    public Guid JobId { get; } = jobId;
}
