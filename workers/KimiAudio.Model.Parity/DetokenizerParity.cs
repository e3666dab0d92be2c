using System.Text.Json;
using KimiAudio.Model.Detokenizer;
using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>
/// Runs a detokenizer fixture case (case.json + expected.safetensors, checkpoints named by <c>detokenizer_dir</c>
/// and <c>vocoder_dir</c>) with the fixture's noise injected, and compares the schedule and every stage:
/// ode_t/dt/t_int, frame ids, v_chunk0_step0, ode_out, cache_k/v_chunk0 (when chunk 0 is not the final one), mel_chunk,
/// voc_in, voc_out, wav_piece, wav.
/// </summary>
public static class DetokenizerParity
{
    private const double MelTolerance = 1e-4;
    private const double WaveTolerance = 1e-3;
    private const double TimeTolerance = 1e-6;

    public static void Run(ParityCase c, ParityReport report, Device device)
    {
        var j = c.Json;
        var options = new DetokenizerOptions
        {
            FirstChunkTokens = j.GetProperty("first_chunk_size").GetInt32(),
            ChunkTokens = j.GetProperty("chunk_size").GetInt32(),
            UpsampleFactor = j.GetProperty("upsample_factor").GetInt32(),
            LookAheadTokens = j.GetProperty("look_ahead_tokens").GetInt32(),
            OdeSteps = j.GetProperty("ode_steps").GetInt32(),
            MaxKvCacheFrames = j.GetProperty("max_kv_cache_tokens").GetInt32(),
            MaxPositions = j.GetProperty("max_pos_size").GetInt32(),
        };
        using var detok = SpeechDetokenizer.Load(c.ResolveInCase(j.GetProperty("detokenizer_dir").GetString()!),
            c.ResolveInCase(j.GetProperty("vocoder_dir").GetString()!), device, ScalarType.Float32, options);

        using var idsExpected = c.Expected.Read("ids");
        var jsonIds = j.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        using (var fromJson = tensor(jsonIds)) report.Add(ParityCase.CompareExact("ids (case.json vs expected)", fromJson, idsExpected));
        var ids = idsExpected.data<long>().ToArray();

        var trace = new CollectingTrace();
        var noise = new TensorNoiseSource(chunk => c.Expected.Read($"noise_chunk_{chunk}"));
        var pieces = new List<float[]>();
        using (var stream = detok.Open(ids, noise, trace))
            while (!stream.Done) pieces.Add(detok.Step([stream])[0]);

        CompareSchedule(j, trace.Schedules, report);
        CompareTensor(c, report, trace, "ode_t", TimeTolerance);
        CompareTensor(c, report, trace, "ode_dt", TimeTolerance);
        CompareTensor(c, report, trace, "ode_t_int", null);
        CompareTensor(c, report, trace, "v_chunk0_step0", MelTolerance);
        // the cache after chunk 0 is the refresh pass of a non-final chunk; a final chunk (a single-chunk case) does
        // not update the cache, so the reference has no such tensors then
        bool firstIsFinal = j.GetProperty("chunks").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } first
            && first.TryGetProperty("is_final", out var f) && f.ValueKind == JsonValueKind.True;
        if (!firstIsFinal)
        {
            CompareTensor(c, report, trace, "cache_k_chunk0", MelTolerance);
            CompareTensor(c, report, trace, "cache_v_chunk0", MelTolerance);
        }
        for (int k = 0; k < trace.Schedules.Count; k++)
        {
            CompareTensor(c, report, trace, $"frame_ids_chunk_{k}", null);
            CompareTensor(c, report, trace, $"ode_out_chunk_{k}", MelTolerance);
            CompareTensor(c, report, trace, $"mel_chunk_{k}", MelTolerance);
            CompareTensor(c, report, trace, $"voc_in_chunk_{k}", MelTolerance);
            CompareTensor(c, report, trace, $"voc_out_chunk_{k}", WaveTolerance);
            CompareTensor(c, report, trace, $"wav_piece_{k}", WaveTolerance);
        }
        var emitted = j.GetProperty("emitted_samples").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var actualEmitted = pieces.Select(p => p.Length).ToArray();
        report.Add(new ParityLine("emitted samples per piece", 0, 0, emitted.SequenceEqual(actualEmitted),
            $"[{string.Join(", ", actualEmitted)}] vs [{string.Join(", ", emitted)}]"));
        using var wav = tensor(pieces.SelectMany(p => p).ToArray());
        using var wavExpected = c.Expected.Read("wav");
        report.Add(ParityCase.CompareFloat("wav", wav, wavExpected, WaveTolerance));
        report.Add(new ParityLine("total samples = 1920·N", 0, 0, wav.shape[0] == (long)detok.SamplesPerToken * ids.Length,
            $"{wav.shape[0]} samples for {ids.Length} tokens"));
        trace.Dispose();
    }

    private static void CompareTensor(ParityCase c, ParityReport report, CollectingTrace trace, string name, double? rel)
    {
        if (!c.Expected.Contains(name))
        {
            report.Add(new ParityLine(name, double.NaN, 0, false, "not in expected.safetensors"));
            return;
        }
        if (!trace.Tensors.TryGetValue(name, out var actual))
        {
            report.Add(new ParityLine(name, double.NaN, 0, false, "the port produced no such tensor"));
            return;
        }
        using var expected = c.Expected.Read(name);
        report.Add(rel is { } r ? ParityCase.CompareFloat(name, actual, expected, r) : ParityCase.CompareExact(name, actual, expected));
    }

    private static void CompareSchedule(JsonElement j, IReadOnlyList<ChunkSchedule> actual, ParityReport report)
    {
        var expected = j.GetProperty("chunks").EnumerateArray().ToList();
        report.Add(new ParityLine("chunk count", Math.Abs(expected.Count - actual.Count), 0, expected.Count == actual.Count,
            $"{actual.Count} vs {expected.Count}"));
        for (int k = 0; k < Math.Min(expected.Count, actual.Count); k++)
        {
            var e = expected[k];
            var a = actual[k];
            var fields = new (string Name, object? Actual)[]
            {
                ("tokens", a.Tokens), ("is_final", a.IsFinal), ("carry_frames", a.CarryFrames), ("frames", a.Frames),
                ("start_position_id", a.StartPositionId), ("cached_frames_before", a.CachedFramesBefore),
                ("key_length", a.KeyLength), ("cache_trimmed", a.CacheTrimmed), ("committed_frames", a.CommittedFrames),
                ("cached_frames_after", a.CachedFramesAfter), ("crossfade_len", a.CrossfadeLength),
                ("vocoder_frames", a.VocoderFrames), ("emitted_samples", a.EmittedSamples), ("position_reset", a.PositionReset),
            };
            var bad = new List<string>();
            foreach (var (name, value) in fields)
            {
                var expectedText = e.TryGetProperty(name, out var v) ? Canonical(v) : "null";
                var actualText = value switch
                {
                    null => "null",
                    bool b => b ? "true" : "false",
                    _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
                };
                if (expectedText != actualText) bad.Add($"{name}: {actualText} vs {expectedText}");
            }
            report.Add(new ParityLine($"schedule chunk {k}", bad.Count, 0, bad.Count == 0, bad.Count == 0 ? null : string.Join("; ", bad)));
        }
    }

    private static string Canonical(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => v.GetRawText(),
    };

    private sealed class CollectingTrace : IDetokenizerTrace, IDisposable
    {
        public List<ChunkSchedule> Schedules { get; } = [];
        public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);

        public void OnChunk(ChunkSchedule schedule) => Schedules.Add(schedule);

        public void OnTensor(string name, Tensor value)
        {
            if (Tensors.Remove(name, out var old)) old.Dispose();
            Tensors[name] = value.detach().cpu().clone().DetachFromDisposeScope();
        }

        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
        }
    }
}
