using KimiAudio.Model.Detokenizer;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Detokenizer;

public class StreamingDetokenizerTests(TinyDetokenizerFixture tiny) : IClassFixture<TinyDetokenizerFixture>
{
    [Theory]
    [InlineData(1, new[] { 1920 })]
    [InlineData(13, new[] { 24960 })]
    [InlineData(30, new[] { 57600 })]
    [InlineData(31, new[] { 17280, 42240 })]
    [InlineData(45, new[] { 17280, 69120 })]
    [InlineData(150, new[] { 17280, 34560, 80640, 34560, 120960 })]
    public void Pieces_follow_the_reference_schedule_and_total_1920_samples_per_token(int n, int[] pieces)
    {
        using var detok = tiny.Load();
        using var noise = new SeededNoiseSource(5);
        var got = detok.DetokenizeStreaming(TinyDetokenizerFixture.RandomIds(n, n), noise).Select(p => p.Length).ToArray();
        Assert.Equal(pieces, got);
        Assert.Equal(1920 * n, got.Sum());
    }

    [Fact]
    public void First_piece_is_yielded_before_later_chunks_are_computed()
    {
        using var detok = tiny.Load();
        var noise = new CountingNoise(new SeededNoiseSource(2));
        using var e = detok.DetokenizeStreaming(TinyDetokenizerFixture.RandomIds(90, 1), noise).GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Equal(17280, e.Current.Length);
        Assert.Equal(1, noise.Calls);   // only chunk 0 has run
        Assert.True(e.MoveNext());
        Assert.Equal(2, noise.Calls);
    }

    [Fact]
    public void Same_seed_repeats_exactly_and_another_seed_differs()
    {
        using var detok = tiny.Load();
        var ids = TinyDetokenizerFixture.RandomIds(45, 9);
        float[] Run(long seed)
        {
            using var n = new SeededNoiseSource(seed);
            return detok.Detokenize(ids, n);
        }
        var a = Run(7);
        var b = Run(7);
        var c = Run(8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, v => Assert.True(float.IsFinite(v) && Math.Abs(v) <= 1.1f));
        Assert.True(a.Max(Math.Abs) > 1e-3f, "the random vocoder should produce a non-silent waveform");
    }

    [Fact]
    public void Batched_jobs_equal_each_job_run_alone()
    {
        using var detok = tiny.Load();
        var jobs = new[] { 61, 31, 13 }.Select((n, i) => (IReadOnlyList<long>)TinyDetokenizerFixture.RandomIds(n, 100 + i)).ToList();
        var alone = jobs.Select((ids, i) =>
        {
            using var n = new SeededNoiseSource(1000 + i);
            return detok.Detokenize(ids, n);
        }).ToList();
        var noises = jobs.Select((_, i) => new SeededNoiseSource(1000 + i)).ToList();
        var batched = detok.DetokenizeBatch(jobs, noises);
        foreach (var n in noises) n.Dispose();
        for (int i = 0; i < jobs.Count; i++)
        {
            Assert.Equal(alone[i].Length, batched[i].Length);
            Assert.Equal(1920 * jobs[i].Count, batched[i].Length);
            float scale = alone[i].Max(Math.Abs);
            float err = alone[i].Zip(batched[i], (x, y) => Math.Abs(x - y)).Max();
            // rows differ from solo runs only by float rounding (different GEMM shapes), amplified by 29 Euler steps and a
            // saturated random vocoder: measured 5e-5 of the max; the waveform parity tolerance is 1e-3
            Assert.True(err <= 2e-4f * scale, $"job {i}: max error {err} vs scale {scale}");
        }
    }

    [Fact]
    public void Cache_trimming_and_position_reset_keep_the_reference_invariants()
    {
        var options = new DetokenizerOptions { MaxKvCacheFrames = 100, MaxPositions = 600 };
        using var detok = tiny.Load(options);
        var ids = TinyDetokenizerFixture.RandomIds(130, 77);
        var trace = new ScheduleTrace();
        using var noise = new SeededNoiseSource(3);
        var pieces = new List<float[]>();
        using (var stream = detok.Open(ids, noise, trace))
            while (!stream.Done) pieces.Add(detok.Step([stream])[0]);

        Assert.Equal(1920 * ids.Length, pieces.Sum(p => p.Length));
        var c = trace.Chunks;
        Assert.Equal(1 + (int)Math.Ceiling((ids.Length - 30) / 30.0), c.Count);
        Assert.Contains(c, x => x.CacheTrimmed == true && !x.PositionReset);   // a trimmed cache is used by the next chunk
        Assert.Contains(c, x => x.PositionReset);
        Assert.Contains(c, x => x.StartPositionId == 0 && x.Chunk > 0);
        for (int k = 0; k < c.Count; k++)
        {
            var x = c[k];
            Assert.Equal(k == 0 ? 0 : options.LookAheadFrames, x.CarryFrames);
            Assert.Equal(x.CarryFrames + 4 * x.Tokens, x.Frames);
            Assert.Equal(x.CachedFramesBefore + x.Frames, x.KeyLength);
            Assert.True(x.CachedFramesBefore <= options.MaxKvCacheFrames);
            Assert.True(x.StartPositionId + x.Frames <= options.MaxPositions, $"chunk {k} reaches position {x.StartPositionId + x.Frames}");
            Assert.Equal(x.IsFinal ? x.Frames : x.Frames - options.LookAheadFrames, x.CommittedFrames);
            if (!x.IsFinal)
            {
                int untrimmed = x.CachedFramesBefore + x.CommittedFrames;
                Assert.Equal(untrimmed > options.MaxKvCacheFrames, x.CacheTrimmed);
                Assert.Equal(Math.Min(untrimmed, options.MaxKvCacheFrames), x.CachedFramesAfter);
                long next = x.StartPositionId + x.CommittedFrames;
                Assert.Equal(next + 2L * x.CommittedFrames > options.MaxPositions, x.PositionReset);
                var y = c[k + 1];
                Assert.Equal(x.PositionReset ? 0 : next, y.StartPositionId);
                Assert.Equal(x.PositionReset ? 0 : x.CachedFramesAfter, y.CachedFramesBefore);
            }
            else
            {
                Assert.False(x.PositionReset);
                Assert.Null(x.CacheTrimmed);
            }
        }
    }

    [Fact]
    public void Ids_outside_the_vocabulary_and_cancellation_are_reported()
    {
        using var detok = tiny.Load();
        using var noise = new SeededNoiseSource(1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => detok.Detokenize([1, 64, 2], noise));
        Assert.Contains("64", ex.Message);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => detok.Detokenize([1, 2, 3], noise, cts.Token));
        Assert.Empty(detok.Detokenize([], noise));
    }

    [Fact]
    public void BFloat16_run_gives_the_same_length_and_a_mel_close_to_float32()
    {
        var ids = TinyDetokenizerFixture.RandomIds(13, 21);
        (float[] Wav, Tensor Mel) Run(ScalarType dtype)
        {
            using var detok = SpeechDetokenizer.Load(Path.Combine(tiny.Folder, KimiAudioLayout.DetokenizerFolder),
                Path.Combine(tiny.Folder, KimiAudioLayout.VocoderFolder), CPU, dtype);
            using var n = new SeededNoiseSource(4);
            var trace = new MelTrace();
            using var stream = detok.Open(ids, n, trace);
            var wav = detok.Step([stream])[0];
            return (wav, trace.Mel!);
        }
        var (f32, melF) = Run(ScalarType.Float32);
        var (bf16, melB) = Run(ScalarType.BFloat16);
        Assert.Equal(f32.Length, bf16.Length);
        Assert.All(bf16, v => Assert.True(float.IsFinite(v)));
        // the DiT in bf16 (as the reference runs it) stays near the float32 mel; the random vocoder is too chaotic to compare
        float scale = melF.abs().max().item<float>();
        float err = (melF - melB).abs().max().item<float>();
        Assert.True(err < 0.05f * scale, $"bf16 mel differs by {err} (scale {scale})");
        melF.Dispose();
        melB.Dispose();
    }

    private sealed class MelTrace : IDetokenizerTrace
    {
        public Tensor? Mel { get; private set; }
        public void OnChunk(ChunkSchedule schedule) { }
        public void OnTensor(string name, Tensor value)
        {
            if (name == "mel_chunk_0") Mel = value.detach().clone().DetachFromDisposeScope();
        }
    }

    private sealed class CountingNoise(SeededNoiseSource inner) : INoiseSource
    {
        public int Calls { get; private set; }

        public Tensor Next(int chunk, int frames, int melBins)
        {
            Calls++;
            return inner.Next(chunk, frames, melBins);
        }
    }
}
