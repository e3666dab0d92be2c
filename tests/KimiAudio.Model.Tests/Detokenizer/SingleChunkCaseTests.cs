using System.Text.Json.Nodes;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Detokenizer;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Tests.Llm;
using Xunit.Abstractions;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Detokenizer;

/// <summary>
/// A detokenizer parity case whose only chunk is the final one (fewer ids than the first chunk): the reference runs the
/// ODE over all frames, commits them all and never refreshes the cache, so there are no cache_k/v_chunk0 tensors.
/// </summary>
/// <remarks>
/// The case is derived from the public detok-31 case: its first 30 ids with the same noise give, in the reference, the
/// same ODE as detok-31's chunk 0 (same ids, positions 0…119, empty cache); only what happens after the ODE differs
/// (final: all 120 frames committed, no refresh). So ode_t/dt/t_int, frame ids, v_chunk0_step0 and ode_out come
/// straight from the reference, and mel = ode_out·mel_std + mel_mean, voc_in = mel (first chunk: nothing carried) are
/// exact arithmetic on them; the schedule follows the reference driver (N = 30 → one piece of 57,600 samples). The
/// vocoder output of 120 frames is not in any reference tensor: those waveform stages come from the port's own run
/// (the vocoder's parity is pinned by detok-31/90), so this case checks the single-chunk path and the harness.
/// </remarks>
public class SingleChunkCaseTests(ITestOutputHelper output)
{
    [Fact]
    public void A_single_final_chunk_case_passes_without_cache_tensors()
    {
        using var dir = new TempDir("detok-single-");
        var caseDir = Path.Combine(dir.Path, "detok-30");
        Write(caseDir);

        using var c = ParityCase.Open(caseDir);
        var report = new ParityReport(c.Name);
        DetokenizerParity.Run(c, report, CPU);
        var text = new StringWriter();
        report.Write(text);
        output.WriteLine(text.ToString());
        Assert.True(report.AllPassed, text.ToString());
        Assert.DoesNotContain(report.Lines, l => l.Name.StartsWith("cache_", StringComparison.Ordinal));
        foreach (var name in new[] { "v_chunk0_step0", "ode_out_chunk_0", "mel_chunk_0", "voc_in_chunk_0", "schedule chunk 0", "emitted samples per piece", "wav" })
            Assert.Contains(report.Lines, l => l.Name == name);
    }

    private static void Write(string caseDir)
    {
        var source = Fixtures.Path("detok-tiny-a", "detok-31");
        Directory.CreateDirectory(caseDir);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "case.json")))!.AsObject();
        using var scope = NewDisposeScope();
        using var reference = TensorSource.OpenFile(Path.Combine(source, "expected.safetensors"));
        var ids = reference.Read("ids").narrow(0, 0, 30).clone();
        var odeOut = reference.Read("ode_out_chunk_0");
        var noise = reference.Read("noise_chunk_0");

        using var detok = SpeechDetokenizer.Load(Fixtures.Path("detok-tiny-a", "audio_detokenizer"), Fixtures.Path("detok-tiny-a", "vocoder"), CPU, ScalarType.Float32);
        Assert.True(detok.DiT.NormalizeMel);
        var mel = odeOut * detok.DiT.MelStd + detok.DiT.MelMean;
        // consistency of the derivation: the non-final chunk 0 of detok-31 committed the same first 72 frames
        var committed31 = reference.Read("mel_chunk_0");
        double drift = (mel.narrow(0, 0, committed31.shape[0]) - committed31).abs().max().item<float>();
        Assert.True(drift <= 1e-5 * committed31.abs().max().item<float>(), $"derived mel differs from detok-31's committed mel by {drift}");

        var wave = PortWaveform(detok, ids.data<long>().ToArray(), noise);
        var tensors = new Dictionary<string, Tensor>
        {
            ["ids"] = ids,
            ["ode_t"] = reference.Read("ode_t"),
            ["ode_dt"] = reference.Read("ode_dt"),
            ["ode_t_int"] = reference.Read("ode_t_int"),
            ["frame_ids_chunk_0"] = reference.Read("frame_ids_chunk_0"),
            ["noise_chunk_0"] = noise,
            ["v_chunk0_step0"] = reference.Read("v_chunk0_step0"),
            ["ode_out_chunk_0"] = odeOut,
            ["mel_chunk_0"] = mel,
            ["voc_in_chunk_0"] = mel,
            ["voc_out_chunk_0"] = wave,
            ["wav_piece_0"] = wave,
            ["wav"] = wave,
        };
        SafetensorsWriter.Write(Path.Combine(caseDir, "expected.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });

        json["name"] = "detok-30";
        json["description"] = "30 semantic ids (detok-31's first chunk) -> 1 final chunk; derived from detok-31, waveform stages from the port";
        json["detokenizer_dir"] = Fixtures.Path("detok-tiny-a", "audio_detokenizer");
        json["vocoder_dir"] = Fixtures.Path("detok-tiny-a", "vocoder");
        json["n_tokens"] = 30;
        json["ids"] = new JsonArray(ids.data<long>().ToArray().Select(i => (JsonNode)i).ToArray());
        json["chunks"] = new JsonArray(new JsonObject
        {
            ["chunk"] = 0, ["tokens"] = 30, ["is_final"] = true, ["carry_frames"] = 0, ["frames"] = 120, ["start_position_id"] = 0,
            ["cached_frames_before"] = 0, ["key_length"] = 120, ["cache_trimmed"] = null, ["committed_frames"] = 120,
            ["cached_frames_after"] = null, ["vocoder_frames"] = 120, ["emitted_samples"] = 57600, ["position_reset"] = false,
        });
        json["emitted_samples"] = new JsonArray(57600);
        json["total_samples"] = 57600;
        json.Remove("tensors");
        File.WriteAllText(Path.Combine(caseDir, "case.json"), json.ToJsonString());
    }

    /// <summary>The port's waveform of one final chunk (no reference tensor holds the vocoder output of 120 frames).</summary>
    private static Tensor PortWaveform(SpeechDetokenizer detok, long[] ids, Tensor noise)
    {
        var pieces = new List<float[]>();
        using (var stream = detok.Open(ids, new TensorNoiseSource(_ => noise.clone())))
            while (!stream.Done) pieces.Add(detok.Step([stream])[0]);
        Assert.Single(pieces);
        return tensor(pieces[0]);
    }
}
