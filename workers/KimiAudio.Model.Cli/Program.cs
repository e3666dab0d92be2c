using System.Diagnostics;
using System.Globalization;
using KimiAudio.Audio;
using KimiAudio.Model;
using KimiAudio.Model.Cli;
using KimiAudio.Model.Generation;
using KimiAudio.Model.Parity;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

const string Usage = """
    kimia-model: run Kimi-Audio (TorchSharp) outside the pipeline.

    Commands:
      parity <case-folder> [--device cpu|cuda]
          Runs one reference case (tests/fixtures/<case>) and prints each tensor's max error and PASS/FAIL.
          Exit code 0 when every check passes, 1 otherwise.
      run --model <folder> --audio <file> [--task asr|caption|qa|emotion|chat] [--question <text>]
          [--output text|both] [--device cpu|cuda] [--dtype float32|bfloat16] [--max-new-tokens N]
          [--temperature T] [--top-k K] [--seed S] [--speech-out reply.wav]
          Transcribes/answers one audio file (any format the pipeline decodes) and prints the text and timings;
          with --output both (the default for chat) and --speech-out, writes the spoken reply as a 24 kHz WAV.
      generate-tiny <folder> [--seed N]
          Writes a tiny random checkpoint with the real folder layout (for tests and the demo).
    """;

NativeThreads.Prepare(); // before the first torch call (OpenMP reads its spin setting when it loads)
var inv = CultureInfo.InvariantCulture;
try
{
    if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
    {
        Console.WriteLine(Usage);
        return args.Length == 0 ? 2 : 0;
    }
    var cli = new CliArgs(args.Skip(1), new HashSet<string> { "help" });
    if (cli.Flag("help")) { Console.WriteLine(Usage); return 0; }
    switch (args[0])
    {
        case "parity":
        {
            if (cli.Positional.Count != 1) throw new CliException("parity takes exactly one case folder");
            var device = new Device(cli.Get("device") ?? "cpu");
            cli.RejectUnknown();
            using var c = ParityCase.Open(cli.Positional[0]);
            var report = new ParityReport(c.Name);
            ParityRunner.Run(c, report, device);
            report.Write(Console.Out);
            return report.AllPassed ? 0 : 1;
        }
        case "run":
        {
            var options = new KimiAudioModelOptions
            {
                ModelFolder = cli.Require("model"),
                GlmTokenizerFolder = cli.Get("glm-tokenizer"),
                Device = cli.Get("device") ?? "cpu",
                DType = cli.Get("dtype") ?? "float32",
            };
            var audioPath = cli.Require("audio");
            var task = TaskTemplates.Parse(cli.Get("task") ?? "asr");
            var question = cli.Get("question");
            var output = cli.Get("output") switch
            {
                null => (KimiAudioOutput?)null,
                "text" => KimiAudioOutput.Text,
                "both" => KimiAudioOutput.Both,
                var o => throw new CliException($"--output '{o}': expected text or both"),
            };
            int maxNew = cli.Get("max-new-tokens", -1, s => int.Parse(s, inv));
            double temperature = cli.Get("temperature", 0.0, s => double.Parse(s, inv));
            int topK = cli.Get("top-k", 5, s => int.Parse(s, inv));
            ulong seed = cli.Get("seed", 0UL, s => ulong.Parse(s, inv));
            var speechOut = cli.Get("speech-out");
            cli.RejectUnknown();

            var bytes = await File.ReadAllBytesAsync(audioPath);
            var audio = await AudioDecoder.DecodeAsync(bytes, audioPath, new AudioDecodeLimits(), CancellationToken.None);
            var sw = Stopwatch.StartNew();
            using var model = KimiAudioModel.Load(options);
            var loadMs = sw.Elapsed.TotalMilliseconds;
            var sampling = SamplingOptions.Greedy with
            {
                Text = SamplingOptions.Greedy.Text with { Temperature = temperature, TopK = topK },
                Seed = seed,
            };
            var request = new KimiAudioRequest
            {
                Task = task, Audios = [audio.Samples], Prompt = question, Output = output, Sampling = sampling, MaxNewTokens = maxNew,
            };
            var result = model.Generate([request], CancellationToken.None)[0];
            if (!result.Succeeded) { Console.Error.WriteLine($"error: {result.Error}"); return 1; }
            Console.WriteLine(result.Text);
            if (speechOut is not null)
            {
                if (result.Speech is null) { Console.Error.WriteLine("error: no speech was produced (text output, or the model folder has no audio_detokenizer/vocoder)"); return 1; }
                await File.WriteAllBytesAsync(speechOut, WavWriter.Pcm16Mono(result.Speech, result.SpeechSampleRate));
                Console.Error.WriteLine(string.Create(inv, $"wrote {result.Speech.Length / (double)result.SpeechSampleRate:F2} s of speech to {speechOut} (detokenize {result.DetokenizeMs:F0} ms)"));
            }
            var t = result.Timings;
            Console.Error.WriteLine(string.Create(inv,
                $"audio {audio.DurationSeconds:F2} s | load {loadMs:F0} ms | encode {t?.EncodeMs:F0} ms | prefill {t?.PrefillMs:F0} ms ({result.PromptLength} tokens) | decode {t?.DecodeMs:F0} ms ({t?.Steps} steps) | text ids {result.TextIds.Length} | semantic ids {result.SemanticIds.Length} | stop {result.Stop}"));
            return 0;
        }
        case "generate-tiny":
        {
            if (cli.Positional.Count != 1) throw new CliException("generate-tiny takes exactly one output folder");
            int seed = cli.Get("seed", 1234, s => int.Parse(s, inv));
            cli.RejectUnknown();
            TinyKimiAudioCheckpoint.Write(cli.Positional[0], seed);
            Console.WriteLine($"wrote tiny Kimi-Audio checkpoint to {Path.GetFullPath(cli.Positional[0])}");
            return 0;
        }
        default:
            throw new CliException($"unknown command '{args[0]}' (expected parity, run or generate-tiny)");
    }
}
catch (CliException e)
{
    Console.Error.WriteLine($"kimia-model: {e.Message}");
    Console.Error.WriteLine("run 'kimia-model --help' for usage");
    return 2;
}
catch (Exception e) when (e is AudioDecodeException or FileNotFoundException or DirectoryNotFoundException or ArgumentException
                              or KimiAudio.Model.Checkpoints.CheckpointException)
{
    Console.Error.WriteLine($"kimia-model: {e.Message}");
    return 1;
}
