namespace KimiAudio.Worker.Jobs;

/// <summary>
/// The prefetch bound, counted in seconds of decoded audio: what is decoded ahead of the model plus what is in it.
/// <see cref="AdmitAsync"/> lets a job start its download + decode only when one of <c>parallel</c> preparation places
/// is free and less than <c>limitSeconds</c> is held; the decoded job then holds its seconds (<see cref="Admission.Hold"/>)
/// until its last segment has left the model. So at most limit + parallel × the longest input is ever held, and a job
/// longer than the whole budget still runs (alone, once the others have given theirs back).
/// </summary>
public sealed class AudioBudget : IDisposable
{
    private readonly SemaphoreSlim preparations;
    private readonly Lock gate = new();
    private TaskCompletionSource released = NewSignal();
    private double held;
    private double peak;

    public AudioBudget(double limitSeconds, int parallel)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitSeconds);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parallel);
        LimitSeconds = limitSeconds;
        preparations = new SemaphoreSlim(parallel, parallel);
    }

    public AudioBudget(WorkerLimits limits) : this(limits.PrefetchAudioSeconds, limits.DownloadParallelism) { }

    public double LimitSeconds { get; }

    /// <summary>Decoded seconds held now.</summary>
    public double HeldSeconds { get { lock (gate) return held; } }

    /// <summary>Most decoded seconds held at one time so far.</summary>
    public double PeakHeldSeconds { get { lock (gate) return peak; } }

    /// <summary>Waits for a preparation place and for room under the limit.</summary>
    public async Task<Admission> AdmitAsync(CancellationToken ct)
    {
        await preparations.WaitAsync(ct);
        try
        {
            while (true)
            {
                Task signal;
                lock (gate)
                {
                    if (held < LimitSeconds) return new Admission(this);
                    signal = released.Task;
                }
                await signal.WaitAsync(ct);
            }
        }
        catch
        {
            preparations.Release();
            throw;
        }
    }

    private void Take(double seconds)
    {
        lock (gate)
        {
            held += seconds;
            peak = Math.Max(peak, held);
        }
    }

    private void Give(double seconds)
    {
        TaskCompletionSource signal;
        lock (gate)
        {
            held = Math.Max(0, held - seconds);
            signal = released;
            released = NewSignal();
        }
        signal.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => preparations.Dispose();

    /// <summary>A preparation place; dispose it once the download + decode are over (holding or not).</summary>
    public sealed class Admission(AudioBudget budget) : IDisposable
    {
        private int disposed;

        /// <summary>Charges the decoded job's seconds to the budget until the returned handle is disposed.</summary>
        public IDisposable Hold(double seconds)
        {
            budget.Take(seconds);
            return new Held(budget, seconds);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) budget.preparations.Release();
        }
    }

    private sealed class Held(AudioBudget budget, double seconds) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) budget.Give(seconds);
        }
    }
}
