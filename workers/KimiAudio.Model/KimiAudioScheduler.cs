using System.Collections.Concurrent;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;

namespace KimiAudio.Model;

/// <summary>How a <see cref="KimiAudioScheduler"/> shares the model between requests.</summary>
public sealed record KimiAudioSchedulerOptions
{
    /// <summary>Most sequences decoded together (slots).</summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>
    /// Most prompt tokens of one newcomer prefilled per step: a long prompt is prefilled in chunks so the rows already
    /// decoding keep stepping (each step advances the decoding rows by one token and a prefill chunk).
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 512;

    /// <summary>Decoding rows and prefill chunks of one step in one forward (<see cref="Generation.GenerationEngine.MixedSteps"/>), or in two.</summary>
    public bool MixedSteps { get; init; } = true;

    /// <summary>
    /// Bytes the KV cache may take over all <see cref="MaxBatchSize"/> slots (keys and values of every layer). Each slot
    /// then holds min(max_position_embeddings, budget / (slots · bytes per position)) positions; a request needing more
    /// (prompt + loop bound) fails with a clear error instead of running out of memory. null: each slot may grow to
    /// max_position_embeddings (memory is allocated as sequences grow).
    /// </summary>
    public long? KvCacheBudgetBytes { get; init; }

    /// <summary>Most requests waiting for a slot; a request beyond it completes at once with an error. 0 = unbounded.</summary>
    public int MaxWaitingRequests { get; init; }

    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentException("MaxBatchSize must be >= 1");
        if (PrefillChunkTokens < 1) throw new ArgumentException("PrefillChunkTokens must be >= 1");
        if (KvCacheBudgetBytes is <= 0) throw new ArgumentException("KvCacheBudgetBytes must be positive (or null for no budget)");
        if (MaxWaitingRequests < 0) throw new ArgumentException("MaxWaitingRequests must be >= 0 (0 = unbounded)");
    }

    /// <summary>Positions one slot holds for <paramref name="config"/> in <paramref name="dtype"/> under these options.</summary>
    public long SlotCapacity(KimiAudioConfig config, ScalarType dtype)
    {
        long perPosition = SlotKvCache.BytesPerPosition(config, dtype);
        long capacity = config.MaxPositionEmbeddings;
        if (KvCacheBudgetBytes is { } budget)
        {
            capacity = Math.Min(capacity, budget / ((long)MaxBatchSize * perPosition));
            if (capacity < 2)
                throw new ArgumentException(
                    $"KvCacheBudgetBytes {budget} leaves {capacity} positions per slot ({MaxBatchSize} slots × {perPosition} bytes per position): raise it or lower MaxBatchSize");
        }
        return capacity;
    }
}

/// <summary>
/// Continuous (in-flight) batching over one model: takes requests from any number of callers; each step decodes every
/// active row together, a row that stops hands its result back at once and frees its slot, and waiting requests join
/// at the next step (their front-end run batched, their prefills batched and chunked). Owns the model's thread:
/// nothing else may call the model while it runs.
/// </summary>
/// <remarks>
/// Contract: <see cref="SubmitAsync"/> never throws for a bad request, it completes with a result whose
/// <see cref="KimiAudioResult.Error"/> says why (invalid sampling, empty audio, prompt too long for the context or for a
/// KV slot); a cancelled caller's task is cancelled and only its row leaves; <see cref="Dispose"/> fails every request
/// not yet finished with <see cref="ObjectDisposedException"/>.
/// Every row's ids equal a run of that request alone (<see cref="GenerationEngine"/>); sampled rows draw from their
/// own generator seeded by the request. Speech is rendered on a second thread: the rows with speech output that finish
/// in the same step (and any still waiting for the detokenizer) are detokenized as one batch, while text-only rows
/// complete at once and decoding goes on.
/// </remarks>
public sealed class KimiAudioScheduler : IDisposable
{
    private readonly KimiAudioModel model;
    private readonly KimiAudioSchedulerOptions options;
    private readonly long slotCapacity;
    private readonly BlockingCollection<Pending> queue = new();
    private readonly BlockingCollection<List<(Pending Pending, KimiAudioResult Result)>> speech = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread loop;
    private readonly Thread speaker;
    private int active;
    private int disposed;

    public KimiAudioScheduler(KimiAudioModel model, KimiAudioSchedulerOptions? options = null)
    {
        this.model = model;
        this.options = options ?? new KimiAudioSchedulerOptions();
        this.options.Validate();
        slotCapacity = this.options.SlotCapacity(model.Config, model.Llm.DType);
        loop = new Thread(Run) { IsBackground = true, Name = "kimi-audio-scheduler" };
        speaker = new Thread(SpeakLoop) { IsBackground = true, Name = "kimi-audio-speech" };
        loop.Start();
        speaker.Start();
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int WaitingRequests => queue.Count;

    /// <summary>Requests in the model now (prefilling or decoding).</summary>
    public int ActiveRows => Volatile.Read(ref active);

    /// <summary>Positions (prompt + generated tokens) one row may use.</summary>
    public long SlotCapacity => slotCapacity;

    /// <summary>
    /// Called on the scheduler thread after every forward, once per row that samples from it: the request, its step
    /// index and its text/audio logits [V] (valid during the call only; the audio logits are empty when the step skipped
    /// the audio branch, and are not the row's when the row does not use them). For tests and diagnostics; set before submitting.
    /// </summary>
    public Action<KimiAudioRequest, int, Tensor, Tensor>? OnLogits { get; set; }

    public Task<KimiAudioResult> SubmitAsync(KimiAudioRequest request, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(stopping.IsCancellationRequested, this);
        if (ct.IsCancellationRequested) return Task.FromCanceled<KimiAudioResult>(ct);
        if (options.MaxWaitingRequests > 0 && queue.Count >= options.MaxWaitingRequests)
            return Task.FromResult(new KimiAudioResult { Error = $"the scheduler queue is full ({options.MaxWaitingRequests} requests waiting)" });
        var pending = new Pending(request, ct);
        try
        {
            queue.Add(pending, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(KimiAudioScheduler));
        }
        return pending.Completion.Task;
    }

    private void Run()
    {
        var special = model.Tokenizer.Special;
        while (!stopping.IsCancellationRequested)
        {
            var groups = new List<AdmitGroup>();
            using var engine = new GenerationEngine(model.Llm, special, options.MaxBatchSize, slotCapacity, options.PrefillChunkTokens)
            {
                Times = model.StageTimes,
                MixedSteps = options.MixedSteps,
            };
            engine.OnLogits = (rows, logits) =>
            {
                // read on every call: the hook may be set after the loop started (object initialisers run after the constructor)
                if (OnLogits is not { } hook) return;
                for (int i = 0; i < rows.Count; i++) hook(((Pending)rows[i].Tag!).Request, rows[i].Steps, logits.Text[i], logits.Audio[i]);
            };
            try
            {
                while (!stopping.IsCancellationRequested)
                {
                    foreach (var row in engine.Rows)
                        if (((Pending)row.Tag!).Completion.Task.IsCompleted) engine.Remove(row); // cancelled by its caller
                    Release(groups);
                    if (engine.FreeSlots > 0) Admit(engine, groups);
                    Volatile.Write(ref active, engine.ActiveRows);
                    if (engine.ActiveRows == 0) continue;
                    var finished = engine.Step(stopping.Token);
                    Complete(finished);
                    Release(groups);
                    Volatile.Write(ref active, engine.ActiveRows);
                }
            }
            catch (Exception e) when (stopping.IsCancellationRequested && e is OperationCanceledException or InvalidOperationException)
            {
                // disposing: the queue was completed or the step was cancelled
            }
            catch (Exception e)
            {
                // a failure of the model itself (not of one request): the rows in flight fail, the loop starts afresh
                foreach (var row in engine.Rows) ((Pending)row.Tag!).Completion.TrySetException(e);
            }
            finally
            {
                if (stopping.IsCancellationRequested)
                    foreach (var row in engine.Rows) ((Pending)row.Tag!).Completion.TrySetException(new ObjectDisposedException(nameof(KimiAudioScheduler)));
                foreach (var g in groups) g.Dispose();
                Volatile.Write(ref active, 0);
            }
        }
    }

    /// <summary>Takes up to the free slots' worth of waiting requests (blocking when idle), encodes them together and admits them.</summary>
    private void Admit(GenerationEngine engine, List<AdmitGroup> groups)
    {
        var batch = new List<Pending>();
        if (engine.ActiveRows == 0) batch.Add(queue.Take(stopping.Token));
        while (batch.Count < engine.FreeSlots && queue.TryTake(out var more)) batch.Add(more);
        batch.RemoveAll(p => p.Completion.Task.IsCompleted);
        if (batch.Count == 0) return;
        var group = new AdmitGroup();
        groups.Add(group);
        var results = new KimiAudioResult?[batch.Count];
        List<KimiAudioModel.PreparedRequest> ready;
        try
        {
            ready = model.Prepare(batch.Select(p => p.Request).ToList(), results, group.Encoded, r => engine.Check(r));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (batch.Count == 1)
            {
                batch[0].Completion.TrySetResult(new KimiAudioResult { Error = $"front-end failed: {e.Message}" });
                return;
            }
            // one bad input must not fail its neighbours: encode them one by one
            ready = [];
            for (int i = 0; i < batch.Count; i++)
            {
                var one = new KimiAudioResult?[1];
                try
                {
                    var r = model.Prepare([batch[i].Request], one, group.Encoded, x => engine.Check(x));
                    if (r.Count == 1) ready.Add(r[0] with { Index = i });
                    else results[i] = one[0];
                }
                catch (Exception e1) when (e1 is not OperationCanceledException)
                {
                    results[i] = new KimiAudioResult { Error = $"front-end failed: {e1.Message}" };
                }
            }
        }
        for (int i = 0; i < batch.Count; i++)
            if (results[i] is { } error) batch[i].Completion.TrySetResult(error);
        foreach (var (index, request, encodeMs) in ready)
        {
            var p = batch[index];
            p.EncodeMs = encodeMs;
            p.Generation = request;
            group.Rows.Add(engine.Admit(request, p));
        }
    }

    private void Complete(IReadOnlyList<GenerationRow> finished)
    {
        var speaking = new List<(Pending, KimiAudioResult)>();
        foreach (var row in finished)
        {
            var p = (Pending)row.Tag!;
            var result = model.ResultOf(row.ToOutput(model.Config.AudioDelayTokens), p.Generation!, p.EncodeMs, row.MaxBatch);
            if (model.WillSpeak(p.Generation!)) speaking.Add((p, result));
            else p.Completion.TrySetResult(result);
        }
        if (speaking.Count > 0) speech.Add(speaking);
    }

    /// <summary>Frees the front-end features of admitted groups whose rows have all finished their prefill.</summary>
    private static void Release(List<AdmitGroup> groups)
    {
        for (int i = groups.Count - 1; i >= 0; i--)
        {
            if (groups[i].Rows.Any(r => r.Prefilling && !r.Removed && r.Stop is null)) continue;
            groups[i].Dispose();
            groups.RemoveAt(i);
        }
    }

    private void SpeakLoop()
    {
        foreach (var first in speech.GetConsumingEnumerable())
        {
            var rows = new List<(Pending Pending, KimiAudioResult Result)>(first);
            while (speech.TryTake(out var more)) rows.AddRange(more);
            rows.RemoveAll(r => r.Pending.Completion.Task.IsCompleted);
            if (rows.Count == 0) continue;
            try
            {
                using (inference_mode())
                {
                    var spoken = model.Speak(rows.Select(r => (r.Result, r.Pending.Request.Sampling)).ToList(), stopping.Token);
                    for (int i = 0; i < rows.Count; i++) rows[i].Pending.Completion.TrySetResult(spoken[i]);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                foreach (var r in rows) r.Pending.Completion.TrySetException(new ObjectDisposedException(nameof(KimiAudioScheduler)));
            }
            catch (Exception e)
            {
                foreach (var r in rows) r.Pending.Completion.TrySetException(e);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        stopping.Cancel();
        queue.CompleteAdding();
        loop.Join();
        speech.CompleteAdding();
        speaker.Join();
        while (queue.TryTake(out var p)) p.Completion.TrySetException(new ObjectDisposedException(nameof(KimiAudioScheduler)));
        queue.Dispose();
        speech.Dispose();
        stopping.Dispose();
    }

    private sealed class Pending
    {
        public Pending(KimiAudioRequest request, CancellationToken ct)
        {
            Request = request;
            if (ct.CanBeCanceled)
            {
                var registration = ct.Register(() => Completion.TrySetCanceled(ct));
                Completion.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        public KimiAudioRequest Request { get; }
        public TaskCompletionSource<KimiAudioResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public GenerationRequest? Generation { get; set; }
        public double EncodeMs { get; set; }
    }

    /// <summary>Requests admitted together: their front-end encodings live until every one has finished its prefill.</summary>
    private sealed class AdmitGroup : IDisposable
    {
        public List<EncodedAudio> Encoded { get; } = [];
        public List<GenerationRow> Rows { get; } = [];

        public void Dispose()
        {
            foreach (var e in Encoded) e.Features?.Dispose();
            Encoded.Clear();
        }
    }
}
