using System.Text.Json;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using KimiAudio.Model.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>
/// LLM stages of a fixture case, driven by the case's expected front-end outputs (<c>glm_tokens</c>,
/// <c>whisper_features_12hz</c>): prompt streams and mask → inputs_embeds → last-position logits → step logits with
/// the expected ids fed back (teacher forcing) → a free greedy run through <see cref="KimiGenerator"/> compared on
/// step ids, loop outputs, post-processed ids, decoded text and the stop reason.
/// </summary>
public static class LlmParity
{
    public static void Run(ParityCase c, ParityReport report, Device device)
    {
        var json = c.Json;
        double tol = json.GetProperty("tolerances").GetProperty("float_max_abs_err_over_max_abs_expected").GetDouble();
        var checkpoint = c.ResolveFromRoot(json.GetProperty("checkpoint").GetString()!);
        using var llm = KimiaLlm.Load(checkpoint, device, ScalarType.Float32);
        var tokenizer = KimiTextTokenizer.Load(checkpoint);
        var builder = new PromptBuilder(tokenizer, llm.Config);
        var output = json.GetProperty("output_type").GetString() == "both" ? KimiOutputType.Both : KimiOutputType.Text;

        using var scope = NewDisposeScope();
        var messages = Messages(c, llm.Config.TokenOffset);
        var prompt = builder.Build(messages, output);
        report.Add(ParityCase.CompareExact("prompt_audio_ids", tensor(prompt.AudioIds), Expected(c, "prompt_audio_ids")));
        report.Add(ParityCase.CompareExact("prompt_text_ids", tensor(prompt.TextIds), Expected(c, "prompt_text_ids")));
        report.Add(ParityCase.CompareExact("continuous_mask", tensor(prompt.ContinuousMask).to(ScalarType.Int64), Expected(c, "continuous_mask")));

        var sp = tokenizer.Special;
        using (inference_mode())
        using (var batch = PromptBatch.Create([prompt], sp.Blank, device))
        {
            var embeds = llm.Embed(batch.AudioIds, batch.TextIds, batch.Continuous);
            report.Add(ParityCase.CompareFloat("inputs_embeds", embeds[0], Expected(c, "inputs_embeds"), tol));

            var expectedText = Expected(c, "step_text_ids");
            var expectedAudio = Expected(c, "step_audio_ids");
            int steps = (int)expectedText.shape[0];
            using var cache = llm.NewCache(1, prompt.Length + steps);
            var textRows = new List<Tensor>();
            var audioRows = new List<Tensor>();
            var logits = llm.Forward(embeds, batch.Positions, batch.PrefillMask, cache);
            report.Add(ParityCase.CompareFloat("text_logits_last", logits.Text[0], Expected(c, "text_logits_last"), tol));
            report.Add(ParityCase.CompareFloat("audio_logits_last", logits.Audio[0], Expected(c, "audio_logits_last"), tol));
            textRows.Add(logits.Text[0]);
            audioRows.Add(logits.Audio[0]);
            for (int i = 1; i < steps; i++)
            {
                var a = expectedAudio[i - 1].reshape(1, 1).to(device);
                var t = expectedText[i - 1].reshape(1, 1).to(device);
                var pos = full(1, 1, prompt.Length + i - 1, dtype: ScalarType.Int64, device: device);
                logits = llm.Forward(llm.Embed(a, t, null), pos, null, cache);
                textRows.Add(logits.Text[0]);
                audioRows.Add(logits.Audio[0]);
            }
            report.Add(ParityCase.CompareFloat("step_text_logits", stack(textRows), Expected(c, "step_text_logits"), tol));
            report.Add(ParityCase.CompareFloat("step_audio_logits", stack(audioRows), Expected(c, "step_audio_logits"), tol));
        }

        var generator = new KimiGenerator(llm, sp);
        var run = generator.Generate([new GenerationRequest(prompt, output, Sampling(json), json.GetProperty("max_new_tokens").GetInt32())])[0];
        report.Add(ParityCase.CompareExact("step_text_ids", tensor(run.StepTextIds), Expected(c, "step_text_ids")));
        report.Add(ParityCase.CompareExact("step_audio_ids", tensor(run.StepAudioIds), Expected(c, "step_audio_ids")));
        report.Add(ParityCase.CompareExact("generated_text_ids", tensor(run.GeneratedTextIds), Expected(c, "generated_text_ids")));
        report.Add(ParityCase.CompareExact("generated_audio_ids", tensor(run.GeneratedAudioIds), Expected(c, "generated_audio_ids")));
        var textIds = OutputIds.Text(run.GeneratedTextIds, llm.Config.TokenOffset, sp.TextEos);
        report.Add(ParityCase.CompareExact("output_text_ids", tensor(textIds), Expected(c, "output_text_ids")));
        report.Add(ParityCase.CompareExact("output_semantic_ids", tensor(OutputIds.Semantic(run.GeneratedAudioIds, llm.Config.TokenOffset)), Expected(c, "output_semantic_ids")));

        var text = tokenizer.Decode(textIds.Select(i => (int)i));
        var wantText = json.GetProperty("expected_text").GetString();
        report.Add(new ParityLine("expected_text", text == wantText ? 0 : 1, 0, text == wantText, text == wantText ? null : $"got \"{text}\""));
        var stop = run.Stop switch { StopReason.TextEos => "text_eos", StopReason.AudioStop => "audio_stop", _ => "max_new_tokens" };
        var wantStop = json.GetProperty("stopped_by").GetString();
        int wantSteps = json.GetProperty("steps_run").GetInt32();
        bool stopOk = stop == wantStop && run.StepTextIds.Length == wantSteps;
        report.Add(new ParityLine("stopped_by/steps_run", stopOk ? 0 : 1, 0, stopOk, stopOk ? null : $"got {stop} after {run.StepTextIds.Length} steps"));
    }

    private static Tensor Expected(ParityCase c, string name) => c.Expected.Read(name);

    /// <summary>The case's messages with each audio replaced by the case's expected front-end outputs.</summary>
    public static IReadOnlyList<KimiMessage> Messages(ParityCase c, int tokenOffset)
    {
        var prefixes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in c.Json.GetProperty("audio_inputs").EnumerateArray())
            prefixes[a.GetProperty("file").GetString()!] = a.GetProperty("prefix").GetString() ?? "";

        EncodedAudio Encoded(string file, bool features)
        {
            if (!prefixes.TryGetValue(file, out var prefix)) throw new InvalidDataException($"{c.Name}: audio '{file}' is not listed in audio_inputs");
            using var ids = c.Expected.Read(prefix + "glm_tokens");
            var raw = ids.data<long>().Select(x => x - tokenOffset).ToArray();
            return new EncodedAudio(raw, features ? c.Expected.Read(prefix + "whisper_features_12hz").DetachFromDisposeScope() : null);
        }

        var messages = new List<KimiMessage>();
        foreach (var m in c.Json.GetProperty("messages").EnumerateArray())
        {
            var role = m.GetProperty("role").GetString() == "assistant" ? KimiRole.Assistant : KimiRole.User;
            var content = m.GetProperty("content");
            messages.Add(m.GetProperty("message_type").GetString() switch
            {
                "text" => new KimiMessage(role, KimiMessageType.Text) { Text = content.GetString() },
                "audio" => new KimiMessage(role, KimiMessageType.Audio) { Encoded = Encoded(content.GetString()!, true) },
                "audio-text" => new KimiMessage(role, KimiMessageType.AudioText)
                {
                    Encoded = Encoded(content[0].GetString()!, false),
                    Text = content[1].GetString(),
                },
                var other => throw new InvalidDataException($"{c.Name}: unknown message_type '{other}'"),
            });
        }
        return messages;
    }

    public static SamplingOptions Sampling(JsonElement caseJson)
    {
        var s = caseJson.GetProperty("sampling");
        StreamSampling Stream(string p) => new(
            s.GetProperty(p + "_temperature").GetDouble(),
            s.GetProperty(p + "_top_k").GetInt32(),
            s.GetProperty(p + "_repetition_penalty").GetDouble(),
            s.GetProperty(p + "_repetition_window_size").GetInt32());
        return new SamplingOptions { Text = Stream("text"), Audio = Stream("audio") };
    }
}
