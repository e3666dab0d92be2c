using KimiAudio.Model.GlmTokenizer;
using KimiAudio.Model.Whisper;
using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.FrontEnd;

/// <summary>
/// Kimi-Audio's audio front-end: 16 kHz mono samples → (a) continuous Whisper features at 12.5 Hz, [n, 4·d_whisper], the
/// input of the LLM's <c>vq_adaptor</c>; (b) discrete GLM-4-Voice tokenizer ids, n raw codebook ids (the LLM adds
/// <c>kimia_token_offset</c>). Both paths split the audio into the reference's 30 s segments and yield the same n.
/// The Whisper encoder runs in the chosen dtype; log-mel, norms and the tokenizer's quantizer distances are float32.
/// </summary>
public sealed class AudioFrontEnd : IDisposable
{
    /// <summary>Whisper frames stacked into one 12.5 Hz feature row.</summary>
    public const int FrameStack = 4;

    /// <summary>Segments per tokenizer forward in the reference (its feature-extractor batch).</summary>
    public const int ReferenceGlmBatch = 128;

    private const int WhisperNFft = 400;
    private const int WhisperHop = 160;

    private readonly LogMelSpectrogram whisperMel;
    private readonly LogMelSpectrogram glmMel;

    public WhisperEncoder Whisper { get; }
    public WhisperVQEncoder GlmTokenizer { get; }
    public FeatureExtractorConfig GlmFeatureConfig { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>Most segments (Whisper windows or tokenizer rows) sent through an encoder at once; results do not depend on it.</summary>
    public int MaxSegmentsPerForward { get; set; } = 16;

    /// <summary>Width of a continuous feature row: 4 · d_whisper.</summary>
    public int FeatureWidth => FrameStack * Whisper.Config.DModel;

    private AudioFrontEnd(WhisperEncoder whisper, WhisperVQEncoder glm, FeatureExtractorConfig glmFeatures, Device device, ScalarType dtype)
    {
        Whisper = whisper;
        GlmTokenizer = glm;
        GlmFeatureConfig = glmFeatures;
        Device = device;
        DType = dtype;
        // whisper: the 128-bin table of openai-whisper's mel_filters.npz (librosa, float32 rounding)
        using (var f = MelFilterBank.ComputeTensor(AudioSegmentation.SampleRate, WhisperNFft, whisper.Config.NumMelBins, 0, 8000,
                   MelFilterBank.Rounding.Librosa, device))
            whisperMel = new LogMelSpectrogram(f, WhisperNFft, WhisperHop, device);
        // GLM: HF WhisperFeatureExtractor's filterbank (float64, one cast)
        using (var f = MelFilterBank.ComputeTensor(glmFeatures.SamplingRate, glmFeatures.NFft, glmFeatures.FeatureSize, 0, 8000,
                   MelFilterBank.Rounding.Float64ThenCast, device))
            glmMel = new LogMelSpectrogram(f, glmFeatures.NFft, glmFeatures.HopLength, device);
    }

    /// <summary>
    /// Loads the Whisper encoder (<paramref name="whisperFolder"/>: config.json + safetensors, <c>encoder.</c> or
    /// <c>model.encoder.</c> keys, decoder keys skipped) in <paramref name="dtype"/>, and the GLM-4-Voice tokenizer
    /// (<paramref name="glmTokenizerFolder"/>: config.json, preprocessor_config.json, model.safetensors) in float32 as the
    /// reference does, both on <paramref name="device"/>. Missing, unexpected or mis-shaped tensors stop loading with a
    /// <see cref="Checkpoints.CheckpointException"/> naming the key.
    /// </summary>
    public static AudioFrontEnd Load(string whisperFolder, string glmTokenizerFolder, Device device, ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"dtype {dtype} is not supported (float32, bfloat16, float16)", nameof(dtype));
        var whisper = WhisperEncoder.Load(whisperFolder, device, dtype);
        try
        {
            if (whisper.Config.InputFrames * WhisperHop != AudioSegmentation.SegmentSamples)
                throw new InvalidDataException(
                    $"{whisperFolder}: max_source_positions {whisper.Config.MaxSourcePositions} does not fit 30 s windows ({AudioSegmentation.SegmentSamples / WhisperHop / 2} positions)");
            var glmFeatures = FeatureExtractorConfig.Load(glmTokenizerFolder);
            var glm = WhisperVQEncoder.Load(glmTokenizerFolder, device, ScalarType.Float32);
            if (glmFeatures.FeatureSize != glm.Config.NumMelBins)
            {
                glm.Dispose();
                throw new InvalidDataException($"{glmTokenizerFolder}: feature_size {glmFeatures.FeatureSize} != num_mel_bins {glm.Config.NumMelBins}");
            }
            return new AudioFrontEnd(whisper, glm, glmFeatures, device, dtype);
        }
        catch
        {
            whisper.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------- Whisper (continuous) path

    /// <summary>Whisper log-mel of every 30 s segment, each zero-padded to 30 s: [S, n_mels, 3000] float32.</summary>
    public Tensor WhisperLogMel(float[] samples16k)
    {
        AudioSegmentation.Validate(samples16k);
        var segments = AudioSegmentation.Split(samples16k.Length);
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        foreach (var chunk in segments.Chunk(MaxSegmentsPerForward))
            parts.Add(whisperMel.Compute(PadRows(samples16k, chunk, AudioSegmentation.SegmentSamples)));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Whisper encoder output at 50 Hz, each segment cut to token_len·4 frames, segments concatenated: [4n, d].</summary>
    public Tensor WhisperFeatures50Hz(float[] samples16k) => WhisperFeatures50HzBatch([samples16k])[0];

    /// <summary>Continuous features of one audio: [n, 4·d_whisper] at 12.5 Hz (frame-major stack of four 50 Hz frames), in the front-end's dtype, before the adaptor.</summary>
    public Tensor ContinuousFeatures(float[] samples16k)
    {
        using var f50 = WhisperFeatures50Hz(samples16k);
        return Stack(f50);
    }

    /// <summary>
    /// Continuous features of several audios in one pass (all their segments share the encoder batches), padded to the
    /// longest: each row equals <see cref="ContinuousFeatures"/> of that audio alone.
    /// </summary>
    public FeatureBatch ContinuousFeaturesBatch(IReadOnlyList<float[]> audios)
    {
        var f50 = WhisperFeatures50HzBatch(audios);
        try
        {
            using var scope = NewDisposeScope();
            var lengths = f50.Select(f => (int)f.shape[0] / FrameStack).ToArray();
            int max = lengths.Max();
            var features = zeros([audios.Count, max, FeatureWidth], DType, Device);
            var mask = zeros([audios.Count, max], ScalarType.Bool, Device);
            for (int i = 0; i < audios.Count; i++)
            {
                features[i].narrow(0, 0, lengths[i]).copy_(Stack(f50[i]));
                mask[i].narrow(0, 0, lengths[i]).fill_(true);
            }
            return new FeatureBatch(features.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), lengths);
        }
        finally
        {
            foreach (var t in f50) t.Dispose();
        }
    }

    /// <summary>[4n, d] → [n, 4d]: row j = f[4j] ‖ f[4j+1] ‖ f[4j+2] ‖ f[4j+3].</summary>
    public static Tensor Stack(Tensor f50)
    {
        if (f50.dim() != 2 || f50.shape[0] % FrameStack != 0)
            throw new ArgumentException($"50 Hz features must be [4n, d], got [{string.Join(", ", f50.shape)}]", nameof(f50));
        return f50.reshape(f50.shape[0] / FrameStack, FrameStack * f50.shape[1]);
    }

    private List<Tensor> WhisperFeatures50HzBatch(IReadOnlyList<float[]> audios)
    {
        ArgumentNullException.ThrowIfNull(audios);
        if (audios.Count == 0) throw new ArgumentException("no audio given", nameof(audios));
        for (int i = 0; i < audios.Count; i++) AudioSegmentation.Validate(audios[i], $"audios[{i}]");

        var rows = audios.SelectMany((a, i) => AudioSegmentation.Split(a.Length).Select(s => (Audio: i, Segment: s))).ToList();
        var perAudio = audios.Select(_ => new List<Tensor>()).ToList();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var chunk in rows.Chunk(MaxSegmentsPerForward))
        {
            using var chunkScope = NewDisposeScope();
            var wave = PadRows(chunk.Select(r => (audios[r.Audio], r.Segment)).ToList(), AudioSegmentation.SegmentSamples);
            var mel = whisperMel.Compute(wave);
            var encoded = Whisper.call(mel);                                                  // [C, 1500, d]
            for (int k = 0; k < chunk.Length; k++)
            {
                var keep = encoded[k].narrow(0, 0, chunk[k].Segment.TokenLength * FrameStack).clone();
                perAudio[chunk[k].Audio].Add(keep.MoveToOuterDisposeScope());
            }
        }
        var result = perAudio.Select(parts => cat(parts, 0)).ToList();
        foreach (var t in result) t.MoveToOuterDisposeScope();
        return result;
    }

    // ---------------------------------------------------------------- GLM (discrete) path

    /// <summary>
    /// The GLM feature extractor's batches for one audio, exactly as the reference forms them: up to 128 segments per
    /// batch, each zero-padded to the batch's longest segment rounded up to a multiple of the token stride (1280 samples),
    /// log-mel with the clamp floor per segment, frame mask = sample mask [::hop].
    /// </summary>
    public IReadOnlyList<GlmFeatureGroup> GlmFeatures(float[] samples16k)
    {
        AudioSegmentation.Validate(samples16k);
        int stride = GlmTokenizer.Config.SamplesPerToken(GlmFeatureConfig.HopLength);
        var groups = new List<GlmFeatureGroup>();
        foreach (var group in AudioSegmentation.Split(samples16k.Length).Chunk(ReferenceGlmBatch))
        {
            using var scope = NewDisposeScope();
            int longest = group.Max(s => s.Length);
            int padded = (longest + stride - 1) / stride * stride;
            // rows are independent (the clamp floor is per row), so the STFT runs on a few rows at a time
            var features = cat(group.Chunk(MaxSegmentsPerForward).Select(rows => glmMel.Compute(PadRows(samples16k, rows, padded))).ToList(), 0);
            int frames = padded / GlmFeatureConfig.HopLength;
            var mask = new long[group.Length * frames];
            for (int r = 0; r < group.Length; r++)
                for (int f = 0; f < frames; f++)
                    mask[r * frames + f] = (long)f * GlmFeatureConfig.HopLength < group[r].Length ? 1 : 0;
            var frameMask = tensor(mask, [group.Length, frames], ScalarType.Int64).to(Device);
            groups.Add(new GlmFeatureGroup(features.MoveToOuterDisposeScope(), frameMask.MoveToOuterDisposeScope(),
                group.Select(s => s.Length).ToArray()));
        }
        return groups;
    }

    /// <summary>Quantizer input states of the valid tokens [n, d_glm] (float32) and the raw ids of one audio.</summary>
    public GlmEncoding GlmEncode(float[] samples16k) => GlmEncodeBatch([samples16k])[0];

    /// <summary>Raw GLM-4-Voice codebook ids of one audio (n = the same count as <see cref="ContinuousFeatures"/> rows).</summary>
    public long[] Tokenize(float[] samples16k)
    {
        using var enc = GlmEncode(samples16k);
        return enc.Ids;
    }

    /// <summary>Tokenizes several audios in shared encoder batches; row i equals <see cref="Tokenize"/> of audio i alone.</summary>
    public TokenBatch TokenizeBatch(IReadOnlyList<float[]> audios)
    {
        var encodings = GlmEncodeBatch(audios);
        try
        {
            var lengths = encodings.Select(e => e.Ids.Length).ToArray();
            int max = lengths.Max();
            var ids = new long[audios.Count * max];
            var mask = new bool[audios.Count * max];
            Array.Fill(ids, -1L);
            for (int i = 0; i < audios.Count; i++)
            {
                encodings[i].Ids.CopyTo(ids, i * max);
                Array.Fill(mask, true, i * max, lengths[i]);
            }
            return new TokenBatch(tensor(ids, [audios.Count, max], ScalarType.Int64), tensor(mask, [audios.Count, max], ScalarType.Bool), lengths);
        }
        finally
        {
            foreach (var e in encodings) e.Dispose();
        }
    }

    private List<GlmEncoding> GlmEncodeBatch(IReadOnlyList<float[]> audios)
    {
        ArgumentNullException.ThrowIfNull(audios);
        if (audios.Count == 0) throw new ArgumentException("no audio given", nameof(audios));
        for (int i = 0; i < audios.Count; i++) AudioSegmentation.Validate(audios[i], $"audios[{i}]");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // rows = (audio, features [M, F] of one segment, frame mask [F]) in the reference's per-audio padding
        var rows = new List<(int Audio, Tensor Features, Tensor Mask)>();
        for (int a = 0; a < audios.Count; a++)
        {
            foreach (var g in GlmFeatures(audios[a]))
                for (int r = 0; r < g.SegmentLengths.Length; r++)
                    rows.Add((a, g.Features[r], g.FrameMask[r]));
        }
        // forwards take the rows longest first, so a 1 s segment is not padded to the 30 s of a neighbour's (each row is
        // masked to its own frames, so the grouping changes no value); results go back in each audio's segment order
        var pooledRows = new Tensor?[rows.Count];
        var idRows = new Tensor?[rows.Count];
        var order = Enumerable.Range(0, rows.Count).OrderByDescending(i => rows[i].Features.shape[1]).ThenBy(i => i).ToArray();
        foreach (var chunkIndex in order.Chunk(MaxSegmentsPerForward))
        {
            var chunk = chunkIndex.Select(i => rows[i]).ToArray();
            long frames = chunk.Max(r => r.Features.shape[1]);
            var features = zeros([chunk.Length, GlmTokenizer.Config.NumMelBins, frames], ScalarType.Float32, Device);
            var mask = zeros([chunk.Length, frames], ScalarType.Int64, Device);
            for (int k = 0; k < chunk.Length; k++)
            {
                long f = chunk[k].Features.shape[1];
                features[k].narrow(1, 0, f).copy_(chunk[k].Features);
                mask[k].narrow(0, 0, f).copy_(chunk[k].Mask);
            }
            var vq = GlmTokenizer.call(features, mask);
            for (int k = 0; k < chunk.Length; k++)
            {
                var valid = vq.TokenMask[k];
                pooledRows[chunkIndex[k]] = vq.Pooled[k][valid];
                idRows[chunkIndex[k]] = vq.Ids[k][valid];
            }
        }
        var result = new List<GlmEncoding>();
        for (int a = 0; a < audios.Count; a++)
        {
            var mine = Enumerable.Range(0, rows.Count).Where(i => rows[i].Audio == a).ToList();
            var p = cat(mine.Select(i => pooledRows[i]!).ToList(), 0).MoveToOuterDisposeScope();
            result.Add(new GlmEncoding(p, cat(mine.Select(i => idRows[i]!).ToList(), 0).cpu().data<long>().ToArray()));
        }
        return result;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Rows of <paramref name="length"/> samples: each segment's samples, then zeros. [rows, length] float32 on the device.</summary>
    private Tensor PadRows(float[] samples, IReadOnlyList<AudioSegment> segments, int length) =>
        PadRows(segments.Select(s => (samples, s)).ToList(), length);

    private Tensor PadRows(IReadOnlyList<(float[] Samples, AudioSegment Segment)> rows, int length)
    {
        var buffer = new float[(long)rows.Count * length];
        for (int r = 0; r < rows.Count; r++)
        {
            var (samples, s) = rows[r];
            if (s.Length > length) throw new InvalidOperationException($"segment of {s.Length} samples does not fit a row of {length}");
            Array.Copy(samples, s.Start, buffer, (long)r * length, s.Length);
        }
        return tensor(buffer, [rows.Count, length], ScalarType.Float32).to(Device);
    }

    public void Dispose()
    {
        whisperMel.Dispose();
        glmMel.Dispose();
        Whisper.Dispose();
        GlmTokenizer.Dispose();
    }
}
