namespace KimiAudio.Worker.Engine;

/// <summary>
/// What the worker needs from a model: run several requests (segments of ≤ 30 s from one or more jobs) in one call.
/// The worker never references the model's own types; an adapter implements this for the TorchSharp Kimi-Audio model.
/// </summary>
public interface IInferenceEngine
{
    /// <summary>Recorded with every result (e.g. "moonshotai/Kimi-Audio-7B-Instruct@bf16").</summary>
    string ModelId { get; }

    /// <summary>Most requests one <see cref="RunAsync"/> call takes; also the size of the worker's message micro-batches.</summary>
    int MaxBatchSize { get; }

    /// <summary>
    /// One result per request, in request order. Throw <see cref="EngineRejectedException"/> for a request the model cannot
    /// take (permanent: the job fails without retries); any other exception fails the attempt (retried later).
    /// </summary>
    Task<IReadOnlyList<EngineResult>> RunAsync(IReadOnlyList<EngineRequest> requests, CancellationToken ct);
}
