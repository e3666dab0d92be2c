using System.Text.Json;
using KimiAudio.Model.FrontEnd;
using KimiAudio.Model.Llm;
using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>
/// Compares the audio front-end against a case's expected tensors, for every audio of the case (audio 0 unprefixed,
/// audio j ≥ 1 prefixed <c>audio{j}.</c>): <c>mel</c>, <c>mel_seg{s}</c>, <c>whisper_features_50hz</c>,
/// <c>whisper_features_12hz</c>, <c>glm_features</c>, <c>glm_frame_mask</c>, <c>glm_pooled</c> and <c>glm_tokens</c>
/// (expected ids include <c>kimia_token_offset</c> from the checkpoint's config.json). Only tensors the case stores are
/// compared; float tolerances come from case.json.
/// </summary>
public static class FrontEndParity
{
    public static void Run(ParityCase c, ParityReport report, Device device)
    {
        var whisperFolder = c.ResolveFromRoot(RequiredString(c, "whisper"));
        var glmFolder = c.ResolveFromRoot(RequiredString(c, "glm_tokenizer"));
        var checkpoint = c.ResolveFromRoot(RequiredString(c, "checkpoint"));
        long offset = KimiAudioConfig.Load(Path.Combine(checkpoint, "config.json")).TokenOffset;
        var tolerances = Tolerances.From(c);

        using var frontEnd = AudioFrontEnd.Load(whisperFolder, glmFolder, device, ScalarType.Float32);
        if (!c.Json.TryGetProperty("audio_inputs", out var inputs) || inputs.GetArrayLength() == 0)
            throw new InvalidDataException($"{c.Name}: case.json lists no audio_inputs");
        foreach (var input in inputs.EnumerateArray())
        {
            var prefix = input.TryGetProperty("prefix", out var p) ? p.GetString() ?? "" : "";
            var file = input.GetProperty("file").GetString()!;
            var samples = Pcm16Wav.Read(c.ResolveInCase(file));
            CompareAudio(c, report, frontEnd, prefix, samples, input, offset, tolerances);
        }
    }

    private static void CompareAudio(ParityCase c, ParityReport report, AudioFrontEnd frontEnd, string prefix, float[] samples,
        JsonElement input, long offset, Tolerances tol)
    {
        using var scope = NewDisposeScope();
        // segmentation as the case records it
        var segments = AudioSegmentation.Split(samples.Length);
        if (input.TryGetProperty("segments", out var segs))
        {
            var expected = segs.EnumerateArray().Select(e => e.GetInt64()).ToArray();
            report.Add(ParityCase.CompareExact(prefix + "segments", tensor(segments.Select(s => (long)s.Length).ToArray()), tensor(expected)));
        }

        bool Has(string name) => c.Expected.Contains(prefix + name);
        void Float(string name, Tensor actual)
        {
            using var e = c.Expected.Read(prefix + name);
            report.Add(ParityCase.CompareFloat(prefix + name, actual, e, tol.For(prefix + name)));
        }
        void Exact(string name, Tensor actual)
        {
            using var e = c.Expected.Read(prefix + name);
            report.Add(ParityCase.CompareExact(prefix + name, actual, e));
        }

        if (Has("mel") || Has("whisper_features_50hz") || Has("whisper_features_12hz"))
        {
            var mel = frontEnd.WhisperLogMel(samples);
            if (Has("mel")) Float("mel", mel[0]);
            for (int s = 1; s < segments.Count; s++)
                if (Has($"mel_seg{s}")) Float($"mel_seg{s}", mel[s]);
            var f50 = frontEnd.WhisperFeatures50Hz(samples);
            if (Has("whisper_features_50hz")) Float("whisper_features_50hz", f50);
            if (Has("whisper_features_12hz")) Float("whisper_features_12hz", AudioFrontEnd.Stack(f50));
        }

        if (Has("glm_features") || Has("glm_frame_mask"))
        {
            var groups = frontEnd.GlmFeatures(samples);
            if (groups.Count != 1)
                report.Add(new ParityLine(prefix + "glm_features", double.PositiveInfinity, 0, false,
                    $"audio forms {groups.Count} tokenizer batches; the fixture stores one"));
            else
            {
                if (Has("glm_features")) Float("glm_features", groups[0].Features);
                if (Has("glm_frame_mask")) Exact("glm_frame_mask", groups[0].FrameMask);
            }
        }

        using var encoding = frontEnd.GlmEncode(samples);
        if (Has("glm_pooled")) Float("glm_pooled", encoding.Pooled);
        if (Has("glm_tokens")) Exact("glm_tokens", tensor(encoding.Ids) + offset);
        else report.Add(new ParityLine(prefix + "glm_tokens", double.PositiveInfinity, 0, false, "expected tensor missing"));
    }

    private static string RequiredString(ParityCase c, string name) =>
        c.Json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new InvalidDataException($"{c.Name}: case.json has no string field '{name}'");

    /// <summary>case.json tolerances: a default relative limit plus per-tensor overrides (an override for <c>mel</c> also
    /// covers <c>mel_seg*</c> and prefixed <c>audio{j}.mel</c>).</summary>
    private sealed record Tolerances(double Default, IReadOnlyDictionary<string, double> Overrides)
    {
        public static Tolerances From(ParityCase c)
        {
            double def = 1e-4;
            var overrides = new Dictionary<string, double>(StringComparer.Ordinal);
            if (c.Json.TryGetProperty("tolerances", out var t))
            {
                if (t.TryGetProperty("float_max_abs_err_over_max_abs_expected", out var d)) def = d.GetDouble();
                if (t.TryGetProperty("per_tensor_overrides", out var o))
                    foreach (var p in o.EnumerateObject()) overrides[p.Name] = p.Value.GetDouble();
            }
            return new Tolerances(def, overrides);
        }

        public double For(string name)
        {
            if (Overrides.TryGetValue(name, out var v)) return v;
            var dot = name.IndexOf('.');
            var bare = name.StartsWith("audio", StringComparison.Ordinal) && dot > 0 ? name[(dot + 1)..] : name;
            if (Overrides.TryGetValue(bare, out v)) return v;
            if (bare.StartsWith("mel_seg", StringComparison.Ordinal) && Overrides.TryGetValue("mel", out v)) return v;
            return Default;
        }
    }
}
