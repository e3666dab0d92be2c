using System.Collections.Concurrent;

namespace KimiAudio.Model;

/// <summary>How a <see cref="KimiAudioScheduler"/> shares the model between requests.</summary>
public sealed record KimiAudioSchedulerOptions
{
    /// <summary>Most sequences decoded together (slots).</summary>
    public int MaxBatchSize { get; init; } = 16;

    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentException("MaxBatchSize must be >= 1");
    }
}

/// <summary>
/// Takes requests one at a time from any number of callers and runs them on the model; each caller gets its own
/// request's result as soon as it is ready. Owns the model's thread: nothing else may call the model while it runs.
/// </summary>
/// <remarks>
/// Contract (kept by every implementation): <see cref="SubmitAsync"/> never throws for a bad request, it completes with
/// a result whose <see cref="KimiAudioResult.Error"/> says why; a cancelled caller's task is cancelled;
/// <see cref="Dispose"/> fails every request not yet finished with <see cref="ObjectDisposedException"/>.
/// This first version drains up to <see cref="KimiAudioSchedulerOptions.MaxBatchSize"/> waiting requests into one
/// <see cref="KimiAudioModel.Generate"/> call at a time (static micro-batches).
/// </remarks>
public sealed class KimiAudioScheduler : IDisposable
{
    private readonly KimiAudioModel model;
    private readonly KimiAudioSchedulerOptions options;
    private readonly BlockingCollection<Pending> queue = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread loop;
    private int active;

    public KimiAudioScheduler(KimiAudioModel model, KimiAudioSchedulerOptions? options = null)
    {
        this.model = model;
        this.options = options ?? new KimiAudioSchedulerOptions();
        this.options.Validate();
        loop = new Thread(Run) { IsBackground = true, Name = "kimi-audio-scheduler" };
        loop.Start();
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int WaitingRequests => queue.Count;

    /// <summary>Requests in the model now.</summary>
    public int ActiveRows => Volatile.Read(ref active);

    public Task<KimiAudioResult> SubmitAsync(KimiAudioRequest request, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(stopping.IsCancellationRequested, this);
        var pending = new Pending(request, ct);
        queue.Add(pending, CancellationToken.None);
        return pending.Completion.Task;
    }

    private void Run()
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var batch = new List<Pending> { queue.Take(stopping.Token) };
                while (batch.Count < options.MaxBatchSize && queue.TryTake(out var more)) batch.Add(more);
                batch.RemoveAll(p => p.Cancel());
                if (batch.Count == 0) continue;
                Volatile.Write(ref active, batch.Count);
                try
                {
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                    var results = model.Generate(batch.Select(p => p.Request).ToList(), linked.Token);
                    for (int i = 0; i < batch.Count; i++) batch[i].Completion.TrySetResult(results[i]);
                }
                catch (Exception e)
                {
                    foreach (var p in batch) p.Completion.TrySetException(e);
                }
                finally
                {
                    Volatile.Write(ref active, 0);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    public void Dispose()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        loop.Join();
        while (queue.TryTake(out var p)) p.Completion.TrySetException(new ObjectDisposedException(nameof(KimiAudioScheduler)));
        queue.Dispose();
        stopping.Dispose();
    }

    private sealed class Pending(KimiAudioRequest request, CancellationToken ct)
    {
        public KimiAudioRequest Request { get; } = request;
        public TaskCompletionSource<KimiAudioResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Cancels the caller's task if its token fired; true when it did.</summary>
        public bool Cancel() => ct.IsCancellationRequested && Completion.TrySetCanceled(ct);
    }
}
