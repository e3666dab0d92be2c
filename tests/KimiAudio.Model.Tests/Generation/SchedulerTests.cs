using System.Collections.Concurrent;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Tests.Llm;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Generation;

/// <summary>
/// Continuous batching on the real TorchSharp model (tiny-a, float32): rows joining and leaving at any step, chunked
/// prefills, sampled rows, failures and cancellation, each row compared with the same request run alone.
/// </summary>
[Collection("Torch")]
public class SchedulerTests
{
    private static readonly Lazy<KimiAudioModel> TinyA = new(() =>
        KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float32" }));

    private static KimiAudioModel Model => TinyA.Value;

    /// <summary>Per request (by reference): the logits of every step, as the scheduler's hook saw them.</summary>
    private sealed class LogitTrace
    {
        public ConcurrentDictionary<KimiAudioRequest, List<(int Step, float[] Text, float[] Audio)>> Rows { get; } =
            new(ReferenceEqualityComparer.Instance);

        public void Record(KimiAudioRequest r, int step, Tensor text, Tensor audio) =>
            Rows.GetOrAdd(r, _ => []).Add((step, text.contiguous().data<float>().ToArray(), audio.contiguous().data<float>().ToArray()));
    }

    private static KimiAudioRequest TextRequest(int audioTokens, int seed, int maxNew, SamplingOptions? sampling = null) => new()
    {
        Messages = [KimiMessage.UserText(TaskTemplates.AsrInstruction), KimiMessage.UserAudio(TestData.Audio(Model.Config, audioTokens, seed))],
        Output = KimiAudioOutput.Text,
        MaxNewTokens = maxNew,
        Sampling = sampling ?? SamplingOptions.Greedy,
    };

    private static KimiAudioRequest BothRequest(int audioTokens, int seed, int maxNew, SamplingOptions? sampling = null) => new()
    {
        Messages = [KimiMessage.UserAudio(TestData.Audio(Model.Config, audioTokens, seed))],
        Output = KimiAudioOutput.Both,
        MaxNewTokens = maxNew,
        Sampling = sampling ?? SamplingOptions.Greedy,
    };

    /// <summary>Each request alone: through the static path (ids) and a one-slot scheduler (logits).</summary>
    private static (KimiAudioResult Static, KimiAudioResult Slot, List<(int Step, float[] Text, float[] Audio)> Logits) Solo(KimiAudioRequest r)
    {
        var alone = Model.Generate([r], CancellationToken.None)[0];
        var trace = new LogitTrace();
        using var one = new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { MaxBatchSize = 1 }) { OnLogits = trace.Record };
        var slot = one.SubmitAsync(r).GetAwaiter().GetResult();
        return (alone, slot, trace.Rows.TryGetValue(r, out var l) ? l : []);
    }

    private static void AssertSameAsAlone(KimiAudioRequest r, KimiAudioResult got, LogitTrace trace, string name)
    {
        var (alone, slot, soloLogits) = Solo(r);
        Assert.True(alone.Succeeded, alone.Error);
        Assert.True(got.Succeeded, $"{name}: {got.Error}");
        foreach (var want in new[] { alone, slot })
        {
            Assert.Equal(want.TextIds, got.TextIds);
            Assert.Equal(want.SemanticIds, got.SemanticIds);
            Assert.Equal(want.Stop, got.Stop);
            Assert.Equal(want.Timings!.Steps, got.Timings!.Steps);
            Assert.Equal(want.PromptLength, got.PromptLength);
        }
        var mine = trace.Rows[r];
        Assert.Equal(soloLogits.Select(x => x.Step), mine.Select(x => x.Step));
        Assert.Equal(Enumerable.Range(0, got.Timings!.Steps), mine.Select(x => x.Step));
        for (int s = 0; s < mine.Count; s++)
        {
            AssertClose(soloLogits[s].Text, mine[s].Text, $"{name} step {s} text");
            // the audio logits of a text answer whose audio stream cannot matter are skipped alone and never sampled in a batch
            if (UsesAudio(r)) AssertClose(soloLogits[s].Audio, mine[s].Audio, $"{name} step {s} audio");
            else Assert.Empty(soloLogits[s].Audio);
        }
    }

    private static bool UsesAudio(KimiAudioRequest r)
        => r.Output == KimiAudioOutput.Both || (!r.Sampling.Text.IsGreedy && !r.Sampling.Audio.IsGreedy);

    private static void AssertClose(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = want.Max(Math.Abs), worst = 0;
        for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - got[i]));
        Assert.True(worst <= 1e-4 * scale, $"{what}: max |Δ| {worst:E2} > 1e-4 × {scale:F3}");
    }

    /// <summary>
    /// Submits the requests of <paramref name="plan"/>: those without a trigger at once, the others from the scheduler
    /// thread when the trigger request reaches the trigger step (so they join mid-flight, deterministically).
    /// </summary>
    private static KimiAudioResult[] RunPlan(KimiAudioSchedulerOptions options, LogitTrace trace,
        IReadOnlyList<(KimiAudioRequest Request, int After, int AtStep)> plan)
    {
        var tasks = plan.Select(_ => new TaskCompletionSource<Task<KimiAudioResult>>()).ToArray();
        KimiAudioScheduler? scheduler = null;
        using var s = new KimiAudioScheduler(Model, options)
        {
            OnLogits = (r, step, text, audio) =>
            {
                trace.Record(r, step, text, audio);
                for (int i = 0; i < plan.Count; i++)
                {
                    var (req, after, at) = plan[i];
                    if (after >= 0 && ReferenceEquals(plan[after].Request, r) && at == step)
                        tasks[i].TrySetResult(scheduler!.SubmitAsync(req));
                }
            },
        };
        scheduler = s;
        for (int i = 0; i < plan.Count; i++)
            if (plan[i].After < 0) tasks[i].TrySetResult(s.SubmitAsync(plan[i].Request));
        var all = Task.WhenAll(tasks.Select(t => t.Task.Unwrap()));
        Assert.True(all.Wait(TimeSpan.FromMinutes(3)), "scheduler did not finish");
        Assert.Equal(0, s.WaitingRequests);
        return all.Result;
    }

    [Fact]
    public void Rows_of_very_different_lengths_joining_and_leaving_mid_flight_equal_their_runs_alone()
    {
        var a = TextRequest(150, 1, 40);   // long prompt, prefilled in chunks while others decode
        var b = BothRequest(4, 2, 3);      // leaves after 3 steps
        var c = TextRequest(20, 3, 30);
        var d = BothRequest(60, 4, 25);    // joins while a is still prefilling
        var e = TextRequest(9, 5, 2);      // joins late, leaves at once
        var f = BothRequest(33, 6, 18);    // waits for a free slot (3 slots)
        // triggers are rows that surely reach the step: step 0, or a speech row before its audio delay ends
        var plan = new List<(KimiAudioRequest, int, int)> { (a, -1, 0), (b, -1, 0), (c, 1, 1), (d, 2, 0), (e, 3, 4), (f, 3, 2) };
        var trace = new LogitTrace();
        var results = RunPlan(new KimiAudioSchedulerOptions { MaxBatchSize = 3, PrefillChunkTokens = 16 }, trace, plan);
        var names = "abcdef";
        for (int i = 0; i < plan.Count; i++) AssertSameAsAlone(plan[i].Item1, results[i], trace, names[i].ToString());
        Assert.True(results.Select(r => r.Timings!.Steps).Distinct().Count() >= 4, "rows must differ in length");
        Assert.Contains(results, r => r.Timings!.BatchSize == 3);
    }

    [Fact]
    public void A_row_moved_to_a_freed_slot_after_the_cache_grew_inside_a_step_equals_its_run_alone()
    {
        // a's 200-position prompt + 90 new tokens grows the pool past 256 positions during a decode step (in inference
        // mode, after both rows were admitted); when a then leaves slot 0, b is moved down into it
        var a = TextRequest(200, 21, 90);
        var b = TextRequest(160, 22, 110);
        var trace = new LogitTrace();
        var results = RunPlan(new KimiAudioSchedulerOptions { MaxBatchSize = 2 }, trace, [(a, -1, 0), (b, -1, 0)]);
        Assert.True(results[0].PromptLength + results[0].Timings!.Steps > 256 && results[0].Timings!.Steps < results[1].Timings!.Steps,
            "a must outgrow 256 positions and leave before b, or the test proves nothing");
        AssertSameAsAlone(a, results[0], trace, "a");
        AssertSameAsAlone(b, results[1], trace, "b");
    }

    [Fact]
    public void Sampled_rows_keep_their_own_seeded_draws_under_joins_and_leaves()
    {
        SamplingOptions Seeded(ulong seed) => new()
        {
            Text = new StreamSampling(0.9, 5, 1.1, 4),
            Audio = new StreamSampling(0.8, 10, 1.2, 3),
            Seed = seed,
        };
        var a = BothRequest(12, 11, 30, Seeded(1));
        var b = TextRequest(40, 12, 8, Seeded(2));
        var c = BothRequest(25, 13, 20, Seeded(3));
        var d = TextRequest(5, 14, 26, Seeded(4));
        var plan = new List<(KimiAudioRequest, int, int)> { (a, -1, 0), (b, 0, 2), (c, 0, 5), (d, 2, 1) };
        var trace = new LogitTrace();
        var results = RunPlan(new KimiAudioSchedulerOptions { MaxBatchSize = 4, PrefillChunkTokens = 24 }, trace, plan);
        for (int i = 0; i < plan.Count; i++) AssertSameAsAlone(plan[i].Item1, results[i], trace, $"sampled {i}");
        // the seeds matter: another seed gives another draw for the same request
        var other = Model.Generate([a with { Sampling = Seeded(99) }], CancellationToken.None)[0];
        Assert.NotEqual(results[0].SemanticIds, other.SemanticIds);
    }

    [Fact]
    public void A_request_too_long_for_the_context_or_its_slot_fails_alone_while_its_neighbours_finish()
    {
        long perPosition = SlotKvCache.BytesPerPosition(Model.Config, Model.Llm.DType);
        var options = new KimiAudioSchedulerOptions { MaxBatchSize = 2, KvCacheBudgetBytes = 2 * 120 * perPosition };
        var tooLongForContext = new KimiAudioRequest { Task = KimiTask.Chat, Messages = [KimiMessage.UserAudio(TestData.Audio(Model.Config, 1600, 7))] };
        var tooLongForSlot = TextRequest(100, 8, 40); // prompt ≈ 110 + 39 fed-back tokens > 120
        var fine1 = TextRequest(30, 9, 20);
        var fine2 = BothRequest(8, 10, 14);
        var empty = new KimiAudioRequest { Task = KimiTask.Asr, Audios = [Array.Empty<float>()] };
        var plan = new List<(KimiAudioRequest, int, int)> { (fine2, -1, 0), (tooLongForContext, 0, 2), (fine1, 0, 3), (tooLongForSlot, 0, 1), (empty, 0, 4) };
        var trace = new LogitTrace();
        var results = RunPlan(options, trace, plan);
        Assert.Contains("no room", results[1].Error);
        Assert.Contains("KV cache positions", results[3].Error);
        Assert.Contains("slot holds 120", results[3].Error);
        Assert.Contains("empty", results[4].Error);
        AssertSameAsAlone(fine2, results[0], trace, "fine2");
        AssertSameAsAlone(fine1, results[2], trace, "fine1");
    }

    [Fact]
    public async Task Cancelling_one_request_removes_only_its_row()
    {
        using var cts = new CancellationTokenSource();
        var doomed = BothRequest(50, 21, 200); // a speech row cannot stop before step 6
        var keep1 = BothRequest(10, 22, 30);
        var keep2 = TextRequest(15, 23, 25);
        var trace = new LogitTrace();
        Task<KimiAudioResult> cancelled;
        Task<KimiAudioResult>[] kept;
        using (var s = new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { MaxBatchSize = 3 })
        {
            OnLogits = (r, step, text, audio) =>
            {
                trace.Record(r, step, text, audio);
                if (ReferenceEquals(r, doomed) && step == 4) cts.Cancel();
            },
        })
        {
            cancelled = s.SubmitAsync(doomed, cts.Token);
            kept = [s.SubmitAsync(keep1), s.SubmitAsync(keep2)];
            await Task.WhenAll(kept).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(SpinWait.SpinUntil(() => s.ActiveRows == 0, TimeSpan.FromSeconds(30)), "the cancelled row was not removed");
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.True(cancelled.IsCanceled);
        Assert.InRange(trace.Rows[doomed].Count, 5, 7); // it stopped stepping right after the cancel
        AssertSameAsAlone(keep1, await kept[0], trace, "keep1");
        AssertSameAsAlone(keep2, await kept[1], trace, "keep2");
    }

    [Fact]
    public async Task Wav_requests_run_the_front_end_batched_and_reproduce_the_fixtures()
    {
        using var asr = ParityCase.Open(Fixtures.Path("asr-short"));
        using var chat = ParityCase.Open(Fixtures.Path("chat-short"));
        var requests = new[]
        {
            new KimiAudioRequest { Task = KimiTask.Asr, Audios = [Pcm16Wav.Read(asr.ResolveInCase("input.wav"))], MaxNewTokens = 12 },
            new KimiAudioRequest { Task = KimiTask.Chat, Audios = [Pcm16Wav.Read(chat.ResolveInCase("input.wav"))], MaxNewTokens = 12 },
        };
        using var s = new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { MaxBatchSize = 4, PrefillChunkTokens = 40 });
        var results = await Task.WhenAll(requests.Select(r => s.SubmitAsync(r))).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error));
        Assert.Equal(asr.Json.GetProperty("expected_text").GetString(), results[0].Text);
        using (var want = asr.Expected.Read("output_text_ids")) Assert.Equal(want.data<long>().ToArray(), results[0].TextIds);
        using (var want = chat.Expected.Read("output_semantic_ids")) Assert.Equal(want.data<long>().ToArray(), results[1].SemanticIds);
        Assert.Equal(StopReason.AudioStop, results[1].Stop);
        Assert.Equal(chat.Json.GetProperty("steps_run").GetInt32(), results[1].Timings!.Steps);
    }

    [Fact]
    public async Task Dispose_fails_every_unfinished_request_and_bad_options_fail_at_start()
    {
        using var started = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        var s = new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { MaxBatchSize = 1 })
        {
            OnLogits = (_, step, _, _) =>
            {
                started.Set();
                gate.Wait(TimeSpan.FromMinutes(1)); // hold the scheduler inside step 0 of a speech row (it cannot stop there)
            },
        };
        var tasks = Enumerable.Range(0, 3).Select(i => s.SubmitAsync(BothRequest(10, 30 + i, 50))).ToArray();
        Assert.True(started.Wait(TimeSpan.FromMinutes(1)));
        var disposing = Task.Run(s.Dispose);
        Thread.Sleep(200);
        gate.Set();
        await disposing.WaitAsync(TimeSpan.FromMinutes(1));
        foreach (var t in tasks)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => t);
        }
        Assert.Throws<ObjectDisposedException>(() => { _ = s.SubmitAsync(BothRequest(10, 1, 5)); });
        Assert.Throws<ArgumentException>(() => new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { PrefillChunkTokens = 0 }));
        var tiny = Assert.Throws<ArgumentException>(() => new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { KvCacheBudgetBytes = 1000 }));
        Assert.Contains("positions per slot", tiny.Message);
    }

    [Fact]
    public async Task A_full_queue_answers_with_an_error()
    {
        using var gate = new ManualResetEventSlim();
        using var s = new KimiAudioScheduler(Model, new KimiAudioSchedulerOptions { MaxBatchSize = 1, MaxWaitingRequests = 1 })
        {
            OnLogits = (_, _, _, _) => gate.Wait(TimeSpan.FromMinutes(1)),
        };
        var first = s.SubmitAsync(BothRequest(10, 40, 8));
        Assert.True(SpinWait.SpinUntil(() => s.ActiveRows == 1, TimeSpan.FromSeconds(30)));
        var second = s.SubmitAsync(TextRequest(10, 41, 3));
        var third = await s.SubmitAsync(TextRequest(10, 42, 3));
        Assert.Contains("queue is full", third.Error);
        gate.Set();
        var secondResult = await second.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(secondResult.Succeeded, secondResult.Error);
        var firstResult = await first.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(firstResult.Succeeded, firstResult.Error);
    }
}
