namespace KimiAudio.Worker.Engine;

/// <summary>
/// What the worker needs from a model: one request (a segment of ≤ 30 s of one job) at a time, from any number of
/// callers at once. The engine batches whatever is in flight (continuous batching): a call returns as soon as its own
/// request is done, whatever its neighbours do. The worker never references the model's own types; an adapter
/// implements this for the TorchSharp Kimi-Audio model.
/// </summary>
public interface IInferenceEngine
{
    /// <summary>Recorded with every result (e.g. "moonshotai/Kimi-Audio-7B-Instruct@bf16").</summary>
    string ModelId { get; }

    /// <summary>Requests the model decodes together (its slots); the worker sizes its in-flight work from it.</summary>
    int MaxBatchSize { get; }

    /// <summary>
    /// The result of one request. Throw <see cref="EngineRejectedException"/> for a request the model cannot take
    /// (permanent: the job fails without retries); any other exception fails the attempt (retried later). Cancelling
    /// <paramref name="ct"/> takes only this request out of the model.
    /// </summary>
    Task<EngineResult> RunAsync(EngineRequest request, CancellationToken ct);
}
