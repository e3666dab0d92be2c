using System.CommandLine;
using System.Diagnostics;
using KimiAudio.Configuration;

namespace KimiAudio.Cli;

/// <summary>
/// `kimia doctor`: checks the broker, the database, the storage, the model folder and the orchestrator API with the
/// settings the services use, one line per check (OK / FAIL / SKIP, with what is wrong and how to fix it); exit 1 if any fails.
/// </summary>
public static class DoctorCommand
{
    public static Command Create(Option<string> api, Option<string?> apiKey)
    {
        var model = new Option<string?>("--model") { Description = "model folder to check (default $Engine__ModelPath; skipped when neither is set)" };
        var bucket = new Option<string?>("--bucket") { Description = "bucket for the storage probe (put + delete of one small object; default: the first bucket listed)" };
        var timeout = new Option<int>("--timeout") { Description = "seconds each check may take (1-120)", DefaultValueFactory = _ => 10 };
        var command = new Command("doctor", "Check that broker, database (migrated), storage, model folder and API are reachable and usable") { model, bucket, timeout };
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(timeout);
            if (seconds is < 1 or > 120)
            {
                Console.Error.WriteLine($"kimia: --timeout must be between 1 and 120 seconds (got {seconds})");
                return CliAction.Usage;
            }
            var checks = new DoctorChecks(WellKnownEnvironment.Build(), new Uri(parse.GetValue(api)!), parse.GetValue(apiKey), parse.GetValue(model), parse.GetValue(bucket), seconds);
            var failed = 0;
            foreach (var (name, check) in checks.All())
            {
                var clock = Stopwatch.StartNew();
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(TimeSpan.FromSeconds(seconds));
                string line;
                try
                {
                    var detail = await check(limit.Token);
                    line = detail is null ? $"SKIP {name,-10} not configured"
                        : detail.StartsWith(DoctorChecks.Skipped, StringComparison.Ordinal) ? $"SKIP {name,-10} {detail[DoctorChecks.Skipped.Length..]}"
                        : $"OK   {name,-10} {detail}";
                }
                catch (DoctorProblem problem)
                {
                    failed++;
                    line = $"FAIL {name,-10} {problem.Message}. Fix: {problem.Fix}";
                }
                catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    failed++;
                    line = $"FAIL {name,-10} no answer within {seconds} s. Fix: {checks.HowToStart(name)}";
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failed++;
                    line = $"FAIL {name,-10} {Flatten(ex)}. Fix: {checks.HowToStart(name)}";
                }
                Console.WriteLine($"{line} ({clock.ElapsedMilliseconds} ms)");
            }
            Console.WriteLine(failed == 0 ? "all checks passed" : $"{failed} check(s) failed");
            return failed == 0 ? CliAction.Ok : CliAction.Failure;
        });
        return command;
    }

    private static string Flatten(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
            if (!messages.Contains(e.Message)) messages.Add(e.Message);
        return string.Join(": ", messages).ReplaceLineEndings(" ");
    }
}

/// <summary>A check's failure: what is wrong and how to fix it.</summary>
public sealed class DoctorProblem(string message, string fix) : Exception(message)
{
    public string Fix { get; } = fix;
}
