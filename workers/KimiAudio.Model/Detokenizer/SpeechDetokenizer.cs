using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Detokenizer.FlowMatching;
using KimiAudio.Model.Detokenizer.Vocoder;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.Detokenizer;

/// <summary>
/// Semantic ids → 24 kHz speech: the streaming flow-matching DiT (Euler ODE per chunk, KV cache refreshed on clean
/// frames, look-ahead carry, cache trimming and position reset) followed by the BigVGAN vocoder and the Hamming
/// cross-fade. Exactly <c>4·hop</c> (1920) samples per token in total. Not thread-safe: one call at a time.
/// </summary>
public sealed class SpeechDetokenizer : IDisposable
{
    private const float RefreshTime = 0.999f;
    private readonly DiTPrefix dit;
    private readonly BigVGanGenerator vocoder;
    private readonly Device device;
    private readonly ScalarType dtype;
    private readonly float[] timeGrid;

    public DetokenizerOptions Options { get; }
    public DiTConfig DiT => dit.Config;
    public VocoderConfig Vocoder => vocoder.Config;
    public int SampleRate => vocoder.Config.SamplingRate;
    public int SamplesPerToken => Options.UpsampleFactor * vocoder.Config.HopLength;

    private SpeechDetokenizer(DiTPrefix dit, BigVGanGenerator vocoder, Device device, ScalarType dtype, DetokenizerOptions options)
    {
        this.dit = dit;
        this.vocoder = vocoder;
        this.device = device;
        this.dtype = dtype;
        Options = options;
        using var grid = linspace(0.0, 1.0, options.OdeSteps, ScalarType.Float32);
        timeGrid = grid.data<float>().ToArray();
    }

    /// <summary>
    /// Loads <c>detokenizerFolder</c> (config.yaml + model.pt, a torch zip training checkpoint of which only the
    /// <c>state_dict</c> tensors containing <c>speech_model</c> are read) and <c>vocoderFolder</c> (config.json +
    /// model.pt {"generator": …}, weight-norm pairs folded).
    /// </summary>
    public static SpeechDetokenizer Load(string detokenizerFolder, string vocoderFolder, Device device, ScalarType dtype,
        DetokenizerOptions? options = null)
    {
        options ??= new DetokenizerOptions();
        options.Validate();
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"unsupported detokenizer dtype {dtype}");
        var ditConfig = DiTConfig.Load(System.IO.Path.Combine(detokenizerFolder, KimiAudioLayout.DetokenizerConfig));
        if (ditConfig.NormalizeMel && (float.IsNaN(ditConfig.MelMean) || float.IsNaN(ditConfig.MelStd)))
            throw new CheckpointException($"{detokenizerFolder}/config.yaml: normalize_mel is true but mel_mean/mel_std are not numbers");
        var vocConfig = VocoderConfig.Load(System.IO.Path.Combine(vocoderFolder, KimiAudioLayout.Config));
        if (vocConfig.NumMels != ditConfig.InputSize)
            throw new CheckpointException($"vocoder num_mels {vocConfig.NumMels} differs from the DiT input_size {ditConfig.InputSize}");

        var dit = new DiTPrefix(ditConfig);
        var voc = new BigVGanGenerator(vocConfig);
        try
        {
            using (var src = PickleTensorSource.Open(System.IO.Path.Combine(detokenizerFolder, KimiAudioLayout.TorchCheckpoint), ["state_dict"],
                       k => k.Contains("speech_model", StringComparison.Ordinal) ? k.Replace("speech_model.", "", StringComparison.Ordinal) : null))
                StateDictLoader.Load(dit, src, "");
            using (var src = PickleTensorSource.Open(System.IO.Path.Combine(vocoderFolder, KimiAudioLayout.TorchCheckpoint), ["generator"], k => k))
                StateDictLoader.Load(voc, new WeightNormFoldingSource(src), "");
            dit.to(dtype).to(device).eval();
            voc.to(dtype).to(device).eval();
        }
        catch
        {
            dit.Dispose();
            voc.Dispose();
            throw;
        }
        return new SpeechDetokenizer(dit, voc, device, dtype, options);
    }

    /// <summary>Starts a stream over <paramref name="semanticIds"/> (0-based, below the semantic vocabulary size).</summary>
    public DetokenizerStream Open(IReadOnlyList<long> semanticIds, INoiseSource noise, IDetokenizerTrace? trace = null)
    {
        for (int i = 0; i < semanticIds.Count; i++)
            if (semanticIds[i] < 0 || semanticIds[i] >= DiT.SemanticVocabSize)
                throw new ArgumentOutOfRangeException(nameof(semanticIds), $"semantic id {semanticIds[i]} at index {i} is outside [0, {DiT.SemanticVocabSize})");
        return new DetokenizerStream(semanticIds, noise, trace);
    }

    /// <summary>Yields 24 kHz waveform pieces as chunks complete (the first after the first chunk).</summary>
    public IEnumerable<float[]> DetokenizeStreaming(IReadOnlyList<long> semanticIds, INoiseSource noise, CancellationToken cancellationToken = default)
    {
        using var stream = Open(semanticIds, noise);
        while (!stream.Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Step([stream])[0];
        }
    }

    /// <summary>The whole waveform: the concatenation of the streamed pieces (1920 samples per token).</summary>
    public float[] Detokenize(IReadOnlyList<long> semanticIds, INoiseSource noise, CancellationToken cancellationToken = default) =>
        DetokenizeStreaming(semanticIds, noise, cancellationToken).SelectMany(p => p).ToArray();

    /// <summary>
    /// Several jobs' streams advanced together: each chunk's DiT evaluations run as one batch (rows padded and masked),
    /// the vocoder batches rows of equal length. Each row equals running that job alone (up to float rounding).
    /// </summary>
    public float[][] DetokenizeBatch(IReadOnlyList<IReadOnlyList<long>> jobs, IReadOnlyList<INoiseSource> noises, CancellationToken cancellationToken = default)
    {
        if (jobs.Count != noises.Count) throw new ArgumentException("one noise source per job is needed");
        var streams = jobs.Select((ids, i) => Open(ids, noises[i])).ToList();
        var output = jobs.Select(_ => new List<float>()).ToArray();
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var active = Enumerable.Range(0, streams.Count).Where(i => !streams[i].Done).ToList();
                if (active.Count == 0) break;
                var pieces = Step(active.Select(i => streams[i]).ToList());
                for (int j = 0; j < active.Count; j++) output[active[j]].AddRange(pieces[j]);
            }
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
        return output.Select(o => o.ToArray()).ToArray();
    }

    /// <summary>Advances every (unfinished) stream by one chunk; returns the emitted piece of each.</summary>
    public IReadOnlyList<float[]> Step(IReadOnlyList<DetokenizerStream> streams)
    {
        if (streams.Any(s => s.Done)) throw new InvalidOperationException("a finished stream cannot be stepped");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var o = Options;
        int bins = DiT.InputSize;
        var rows = new List<ChunkRow>();
        foreach (var s in streams)
        {
            int size = s.Chunk == 0 ? o.FirstChunkTokens : o.ChunkTokens;
            int take = Math.Min(size, s.Ids.Count - s.Consumed);
            bool isFinal = s.Consumed + take >= s.Ids.Count;
            var frameIds = new List<long>(s.Carry ?? []);
            for (int i = 0; i < take; i++)
                for (int r = 0; r < o.UpsampleFactor; r++) frameIds.Add(s.Ids[s.Consumed + i]);
            int n = frameIds.Count;
            var noise = s.Noise.Next(s.Chunk, n, bins);
            rows.Add(new ChunkRow(s, take, isFinal, s.Carry?.Length ?? 0, frameIds.ToArray(), noise));
            s.Trace?.OnTensor($"frame_ids_chunk_{s.Chunk}", tensor(frameIds.ToArray()));
        }

        // ODE over all frames of each row (look-ahead included), attending to each row's cache
        var ode = SolveOde(rows);
        for (int b = 0; b < rows.Count; b++)
            rows[b].Stream.Trace?.OnTensor($"ode_out_chunk_{rows[b].Stream.Chunk}", ode[b]);

        // commit, carry, refresh pass on the clean committed frames
        int la = o.LookAheadFrames;
        var committed = new Tensor[rows.Count];
        var refreshRows = new List<int>();
        for (int b = 0; b < rows.Count; b++)
        {
            var r = rows[b];
            int keep = r.IsFinal ? r.FrameIds.Length : r.FrameIds.Length - la;
            committed[b] = ode[b].narrow(0, 0, keep);
            if (!r.IsFinal && la > 0)
            {
                r.Stream.Carry = r.FrameIds[^la..];
                refreshRows.Add(b);
            }
        }
        if (refreshRows.Count > 0)
        {
            var fresh = RefreshCache(refreshRows.Select(b => (rows[b], committed[b])).ToList());
            for (int j = 0; j < refreshRows.Count; j++) AppendCache(rows[refreshRows[j]], fresh[j]);
        }
        if (la == 0)
            for (int b = 0; b < rows.Count; b++)
                if (!rows[b].IsFinal && rows[b].LastEvalKv is { } last) AppendCache(rows[b], last);

        // de-normalise, vocode, stitch
        var mels = new Tensor[rows.Count];
        for (int b = 0; b < rows.Count; b++)
        {
            var m = committed[b].to(ScalarType.Float32);
            if (DiT.NormalizeMel) m = m.mul(DiT.MelStd).add(DiT.MelMean);
            mels[b] = m;
            rows[b].Stream.Trace?.OnTensor($"mel_chunk_{rows[b].Stream.Chunk}", m);
        }
        var vocIn = new Tensor[rows.Count];
        for (int b = 0; b < rows.Count; b++)
        {
            var s = rows[b].Stream;
            vocIn[b] = s.PreMel is null ? mels[b] : cat([s.PreMel, mels[b]], 0);
            s.Trace?.OnTensor($"voc_in_chunk_{s.Chunk}", vocIn[b]);
        }
        var wavs = RunVocoder(vocIn);
        var pieces = new float[rows.Count][];
        for (int b = 0; b < rows.Count; b++)
        {
            var r = rows[b];
            var s = r.Stream;
            s.Trace?.OnTensor($"voc_out_chunk_{s.Chunk}", wavs[b]);
            var (piece, crossfade) = Stitch(s, mels[b], wavs[b], r.IsFinal);
            s.Trace?.OnTensor($"wav_piece_{s.Chunk}", piece);
            pieces[b] = piece.data<float>().ToArray();

            long startPos = s.Position;
            int cachedBefore = r.CachedBefore;
            int committedFrames = (int)mels[b].shape[0];
            s.Position += committedFrames;
            bool reset = false;
            if (!r.IsFinal && s.Position + 2L * committedFrames > o.MaxPositions)
            {
                s.ClearCache();
                s.Position = 0;
                reset = true;
            }
            s.Trace?.OnChunk(new ChunkSchedule
            {
                Chunk = s.Chunk,
                Tokens = r.Tokens,
                IsFinal = r.IsFinal,
                CarryFrames = r.CarryFrames,
                Frames = r.FrameIds.Length,
                StartPositionId = startPos,
                CachedFramesBefore = cachedBefore,
                KeyLength = cachedBefore + r.FrameIds.Length,
                CacheTrimmed = r.IsFinal ? null : r.Trimmed,
                CommittedFrames = committedFrames,
                CachedFramesAfter = r.IsFinal ? null : r.CachedAfter,
                VocoderFrames = (int)vocIn[b].shape[0],
                CrossfadeLength = crossfade,
                EmittedSamples = pieces[b].Length,
                PositionReset = reset,
            });
            s.Consumed += r.Tokens;
            s.Chunk++;
            if (r.IsFinal)
            {
                s.ClearCache();
                s.Carry = null;
                s.ReplacePreMel(null);
                s.ReplacePreWav(null);
                s.Position = 0;
            }
        }
        return pieces;
    }

    private sealed class ChunkRow(DetokenizerStream stream, int tokens, bool isFinal, int carryFrames, long[] frameIds, Tensor noise)
    {
        public DetokenizerStream Stream { get; } = stream;
        public int Tokens { get; } = tokens;
        public bool IsFinal { get; } = isFinal;
        public int CarryFrames { get; } = carryFrames;
        public long[] FrameIds { get; } = frameIds;
        public Tensor Noise { get; } = noise;
        public int CachedBefore { get; } = stream.CachedFrames;
        public long StartPosition { get; } = stream.Position;
        public List<KvPair>? LastEvalKv { get; set; }
        public bool Trimmed { get; set; }
        public int CachedAfter { get; set; }
    }

    /// <summary>torchdyn fixed-step Euler over linspace(0, 1, steps): t accumulates t += dt, dt_k = grid[k+1] − t_k.</summary>
    private Tensor[] SolveOde(List<ChunkRow> rows)
    {
        var batch = BuildBatch(rows.Select(r => (r.FrameIds, r.StartPosition, r.Noise, r.Stream.Cache)).ToList());
        var x = batch.X;
        int evals = timeGrid.Length - 1;
        float t = timeGrid[0];
        float dt = timeGrid[1] - timeGrid[0];
        var traceT = new float[evals];
        var traceDt = new float[evals];
        var traceTInt = new long[evals];
        bool lastKv = Options.LookAheadFrames == 0;
        for (int k = 0; k < evals; k++)
        {
            long tInt = (long)(float)(t * 1000f);
            traceT[k] = t;
            traceDt[k] = dt;
            traceTInt[k] = tInt;
            var current = lastKv && k == evals - 1 ? new List<KvPair>() : null;
            var v = dit.Forward(x, full(rows.Count, tInt, ScalarType.Int64), batch.Inputs, batch.Cache, current);
            if (k == 0 && rows[0].Stream.Chunk == 0)
                for (int b = 0; b < rows.Count; b++)
                    if (rows[b].Stream.Chunk == 0)
                        rows[b].Stream.Trace?.OnTensor("v_chunk0_step0", v[b].narrow(0, 0, rows[b].FrameIds.Length));
            x = x.add(v.mul(dt));
            if (current is not null)
                for (int b = 0; b < rows.Count; b++)
                    rows[b].LastEvalKv = current.Select(kv => new KvPair(kv.K[b].narrow(0, 0, rows[b].FrameIds.Length).unsqueeze(0), kv.V[b].narrow(0, 0, rows[b].FrameIds.Length).unsqueeze(0))).ToList();
            DisposeAll(current);
            t += dt;
            if (k + 2 < timeGrid.Length) dt = timeGrid[k + 2] - t;
        }
        foreach (var r in rows)
            if (r.Stream.Trace is { } tr)
            {
                tr.OnTensor("ode_t", tensor(traceT));
                tr.OnTensor("ode_dt", tensor(traceDt));
                tr.OnTensor("ode_t_int", tensor(traceTInt));
            }
        batch.Inputs.Dispose();
        return rows.Select((r, b) => x[b].narrow(0, 0, r.FrameIds.Length)).ToArray();
    }

    /// <summary>One DiT evaluation at t = 0.999 on the committed clean frames; returns each row's own per-block K/V.</summary>
    private List<List<KvPair>> RefreshCache(List<(ChunkRow Row, Tensor Clean)> items)
    {
        var batch = BuildBatch(items.Select(i => (i.Row.FrameIds[..(int)i.Clean.shape[0]], i.Row.StartPosition, i.Clean, i.Row.Stream.Cache)).ToList());
        var current = new List<KvPair>();
        long tInt = (long)(float)(RefreshTime * 1000f);
        dit.Forward(batch.X, full(items.Count, tInt, ScalarType.Int64), batch.Inputs, batch.Cache, current);
        batch.Inputs.Dispose();
        var perRow = items.Select((it, b) => current.Select(kv =>
        {
            long n = it.Clean.shape[0];
            return new KvPair(kv.K[b].narrow(0, 0, n).unsqueeze(0), kv.V[b].narrow(0, 0, n).unsqueeze(0));
        }).ToList()).ToList();
        DisposeAll(current);
        return perRow;
    }

    private static void DisposeAll(List<KvPair>? kvs)
    {
        if (kvs is null) return;
        foreach (var kv in kvs)
        {
            kv.K.Dispose();
            kv.V.Dispose();
        }
    }

    /// <summary>cache ← cat(cache, fresh), then keep the most recent MaxKvCacheFrames frames.</summary>
    private void AppendCache(ChunkRow row, List<KvPair> fresh)
    {
        var s = row.Stream;
        var merged = new List<KvPair>();
        for (int i = 0; i < fresh.Count; i++)
        {
            var k = s.Cache is null ? fresh[i].K : cat([s.Cache[i].K, fresh[i].K], 1);
            var v = s.Cache is null ? fresh[i].V : cat([s.Cache[i].V, fresh[i].V], 1);
            long len = k.shape[1];
            row.Trimmed = len > Options.MaxKvCacheFrames;
            if (row.Trimmed)
            {
                k = k.narrow(1, len - Options.MaxKvCacheFrames, Options.MaxKvCacheFrames);
                v = v.narrow(1, len - Options.MaxKvCacheFrames, Options.MaxKvCacheFrames);
            }
            merged.Add(new KvPair(k.contiguous().DetachFromDisposeScope(), v.contiguous().DetachFromDisposeScope()));
        }
        s.ClearCache();
        s.Cache = merged;
        row.CachedAfter = s.CachedFrames;
        if (row.Stream.Chunk == 0 && row.Stream.Trace is { } tr)
        {
            using var ks = stack(merged.Select(kv => kv.K[0]).ToArray(), 0);
            using var vs = stack(merged.Select(kv => kv.V[0]).ToArray(), 0);
            tr.OnTensor("cache_k_chunk0", ks);
            tr.OnTensor("cache_v_chunk0", vs);
        }
    }

    private sealed record Batch(Tensor X, DiTChunkInputs Inputs, List<KvPair>? Cache);

    /// <summary>Pads rows to a common frame count and cache length; padded keys are masked out.</summary>
    private Batch BuildBatch(List<(long[] Ids, long Start, Tensor X, List<KvPair>? Cache)> rows)
    {
        int bsz = rows.Count;
        int nMax = rows.Max(r => r.Ids.Length);
        int lMax = rows.Max(r => r.Cache is null ? 0 : (int)r.Cache[0].K.shape[1]);
        bool ragged = rows.Any(r => r.Ids.Length != nMax || (r.Cache is null ? 0 : (int)r.Cache[0].K.shape[1]) != lMax);
        var ids = new long[bsz * nMax];
        var pos = new long[bsz * nMax];
        var xs = new Tensor[bsz];
        Tensor? mask = null;
        float[]? maskData = ragged ? new float[bsz * (lMax + nMax)] : null;
        for (int b = 0; b < bsz; b++)
        {
            var r = rows[b];
            int n = r.Ids.Length;
            int l = r.Cache is null ? 0 : (int)r.Cache[0].K.shape[1];
            for (int i = 0; i < nMax; i++)
            {
                int src = Math.Min(i, n - 1);
                ids[b * nMax + i] = r.Ids[src];
                pos[b * nMax + i] = r.Start + src;
            }
            var xb = r.X.to(dtype, device);
            xs[b] = n == nMax ? xb : nn.functional.pad(xb, [0, 0, 0, nMax - n]);
            if (maskData is not null)
                for (int j = 0; j < lMax + nMax; j++)
                {
                    bool valid = j < lMax ? j < l : j - lMax < n;
                    maskData[b * (lMax + nMax) + j] = valid ? 0f : float.NegativeInfinity;
                }
        }
        if (maskData is not null) mask = tensor(maskData).reshape(bsz, 1, 1, lMax + nMax);
        var inputs = dit.PrepareChunk(tensor(ids).reshape(bsz, nMax), tensor(pos).reshape(bsz, nMax), mask, dtype);
        List<KvPair>? cache = null;
        if (lMax > 0)
        {
            cache = [];
            for (int i = 0; i < dit.Depth; i++)
            {
                var ks = rows.Select(r => PadFrames(r.Cache?[i].K, lMax)).ToArray();
                var vs = rows.Select(r => PadFrames(r.Cache?[i].V, lMax)).ToArray();
                cache.Add(bsz == 1 ? new KvPair(ks[0], vs[0]) : new KvPair(cat(ks, 0), cat(vs, 0)));
            }
        }
        return new Batch(bsz == 1 ? xs[0].unsqueeze(0) : stack(xs, 0), inputs, cache);
    }

    private Tensor PadFrames(Tensor? kv, int length)
    {
        if (kv is null) return zeros([1, length, DiT.NumHeads, DiT.HeadDim], dtype, device);
        long l = kv.shape[1];
        return l == length ? kv : nn.functional.pad(kv, [0, 0, 0, 0, 0, length - l]);
    }

    /// <summary>Vocoder over each row's [T, mels]; rows of equal length share one batch. Returns float32 [T·hop] per row.</summary>
    private Tensor[] RunVocoder(Tensor[] mels)
    {
        var result = new Tensor[mels.Length];
        foreach (var group in Enumerable.Range(0, mels.Length).GroupBy(i => mels[i].shape[0]))
        {
            var idx = group.ToArray();
            var input = stack(idx.Select(i => mels[i].transpose(0, 1)).ToArray(), 0).to(dtype, device);
            var wav = vocoder.call(input).to(ScalarType.Float32, CPU);
            for (int j = 0; j < idx.Length; j++) result[idx[j]] = wav[j, 0];
        }
        return result;
    }

    /// <summary>The reference's Hamming cross-fade between the withheld half of the previous render and the new render.</summary>
    private (Tensor Piece, int? Crossfade) Stitch(DetokenizerStream s, Tensor mel, Tensor wav, bool isFinal)
    {
        int hop = vocoder.Config.HopLength;
        long m = mel.shape[0];
        if (s.PreMel is null)
        {
            if (isFinal) return (wav, null);
            long half = hop * m / 2;
            var piece = wav.narrow(0, 0, half);
            s.ReplacePreWav(wav.narrow(0, wav.shape[0] - half, half).clone().DetachFromDisposeScope());
            long melKeep = (m + 1) / 2;   // Python's mel[-m // 2:] keeps ceil(m/2) frames
            s.ReplacePreMel(mel.narrow(0, m - melKeep, melKeep).clone().DetachFromDisposeScope());
            return (piece, null);
        }
        if (isFinal) return (wav, null);
        long prev = s.PreWav!.shape[0];
        long total = wav.shape[0];
        long g = total > prev * 2 ? prev * 2 : total / 2;
        var outWav = wav.narrow(0, 0, g).clone();
        long h = g / 2;
        using (var window = hamming_window(g, periodic: true, dtype: ScalarType.Float32))
        {
            var head = s.PreWav.narrow(0, 0, h).mul(window.narrow(0, g - h, h)).add(outWav.narrow(0, 0, h).mul(window.narrow(0, 0, h)));
            outWav.narrow(0, 0, h).copy_(head);
        }
        long r = total - g;
        long resMel = r / hop;
        s.ReplacePreWav(wav.narrow(0, total - r, r).clone().DetachFromDisposeScope());
        // Python's mel[-0:] is the whole tensor; mel[-k:] with k > m is the whole tensor as well
        long keep = resMel == 0 || resMel > m ? m : resMel;
        s.ReplacePreMel(mel.narrow(0, m - keep, keep).clone().DetachFromDisposeScope());
        return (outWav, (int)g);
    }

    public void Dispose()
    {
        dit.Dispose();
        vocoder.Dispose();
    }
}
