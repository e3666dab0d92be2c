using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>`kimia status|results|cancel|retry-failed` against a real orchestrator: output, filters and exit codes (0 ok, 1 failure, 2 usage).</summary>
public sealed class CliOpsTests(OpsFixture f) : IClassFixture<OpsFixture>
{
    private Task<KimiaCli.Outcome> Kimia(params string[] args) => KimiaCli.RunAsync(f.CliEnvironment, args);

    private static void AssertOk(KimiaCli.Outcome run) => Assert.True(run.ExitCode == 0, run.ToString());

    [Fact]
    public async Task Status_without_an_id_lists_the_batches_and_with_one_prints_plain_progress_when_piped()
    {
        var list = await Kimia("status");
        AssertOk(list);
        var lines = list.Stdout.Split('\n');
        Assert.StartsWith("batch", lines[0]);
        var caption = Assert.Single(lines, l => l.StartsWith(f.CaptionBatch.ToString(), StringComparison.Ordinal));
        Assert.Contains("completed", caption);
        Assert.Contains("caption", caption);
        var asr = Assert.Single(lines, l => l.StartsWith(f.AsrBatch.ToString(), StringComparison.Ordinal));
        Assert.Matches(@"\|\s*6\s*\|\s*5\s*\|\s*1\s*\|\s*0\s*\|", asr); // files, succeeded, failed, open
        Assert.True(Array.IndexOf(lines, caption) < Array.IndexOf(lines, asr), "newest first");

        var running = await Kimia("status", "--state", "running");
        AssertOk(running);
        Assert.DoesNotContain(f.AsrBatch.ToString(), running.Stdout);

        var one = await Kimia("status", f.AsrBatch.ToString());
        AssertOk(one);
        Assert.Equal($"batch {f.AsrBatch} completed: finished 6/6, succeeded 5, failed 1, skipped 0, cancelled 0, running 0, ", one.Stdout[..^(one.Stdout.Length - one.Stdout.IndexOf("running 0, ", StringComparison.Ordinal) - "running 0, ".Length)]);
        Assert.DoesNotContain("[", one.Stdout); // no bar when stdout is not a terminal
        Assert.DoesNotContain("\r", one.Stdout);

        var watched = await Kimia("status", f.CaptionBatch.ToString(), "--watch");
        AssertOk(watched);
        Assert.StartsWith($"batch {f.CaptionBatch} completed: finished 3/3", Assert.Single(watched.Stdout.Split('\n')));
    }

    [Fact]
    public async Task Results_take_batch_task_state_and_query_filters_as_a_table_or_json_lines()
    {
        var table = await Kimia("results", f.AsrBatch.ToString());
        AssertOk(table);
        Assert.Equal(1 + 1 + 6, table.Stdout.Split('\n').Length); // header, rule, 6 files
        Assert.Contains("failed", Assert.Single(table.Stdout.Split('\n'), l => l.Contains("broken, \"quoted\".wav")));

        var failed = await Kimia("results", "--batch", f.AsrBatch.ToString(), "--state", "failed", "--json");
        AssertOk(failed);
        var row = JsonDocument.Parse(Assert.Single(failed.Stdout.Split('\n'))).RootElement;
        Assert.Equal("failed", row.GetProperty("state").GetString());
        Assert.False(string.IsNullOrWhiteSpace(row.GetProperty("error").GetString()));

        var captions = await Kimia("results", "--task", "caption", "--json");
        AssertOk(captions);
        Assert.Equal(3, captions.Stdout.Split('\n').Length);
        Assert.All(captions.Stdout.Split('\n'), l => Assert.Equal(f.CaptionBatch, JsonDocument.Parse(l).RootElement.GetProperty("batchId").GetGuid()));

        var found = await Kimia("results", "--query", "ASR#0:16000", "--json");
        AssertOk(found);
        Assert.EndsWith("/asr/clip-2.wav", JsonDocument.Parse(Assert.Single(found.Stdout.Split('\n'))).RootElement.GetProperty("input").GetString());

        var limited = await Kimia("results", "--json", "--limit", "4");
        AssertOk(limited);
        Assert.Equal(4, limited.Stdout.Split('\n').Length);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_naming_the_argument_and_failures_exit_1()
    {
        var badState = await Kimia("results", "--state", "done");
        Assert.Equal(2, badState.ExitCode);
        Assert.Contains("done", badState.Stderr);
        Assert.Contains("succeeded", badState.Stderr); // the allowed values
        Assert.Contains("kimia results [<batch-id>] [options]", badState.Stderr);

        var badBatchState = await Kimia("status", "--state", "finished");
        Assert.Equal(2, badBatchState.ExitCode);
        Assert.Contains("completed", badBatchState.Stderr);

        var notAGuid = await Kimia("status", "batch-42");
        Assert.Equal(2, notAGuid.ExitCode);
        Assert.Contains("batch-42", notAGuid.Stderr);

        var missing = await Kimia("retry-failed");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("batch-id", missing.Stderr);

        var badLimit = await Kimia("status", "--limit", "0");
        Assert.Equal(2, badLimit.ExitCode);
        Assert.Contains("--limit", badLimit.Stderr);

        var badAttempts = await Kimia("submit", "--source", $"s3://{f.P.Bucket}/asr/", "--max-attempts", "0");
        Assert.NotEqual(0, badAttempts.ExitCode);
        Assert.Contains("maxAttempts", badAttempts.Stderr);
        Assert.Contains("--max-attempts", (await Kimia("submit", "--help")).Stdout);

        var twice = await Kimia("results", f.AsrBatch.ToString(), "--batch", f.CaptionBatch.ToString());
        Assert.Equal(2, twice.ExitCode);

        var unknown = await Kimia("status", Guid.NewGuid().ToString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr);
        var unknownCancel = await Kimia("cancel", Guid.NewGuid().ToString());
        Assert.Equal(1, unknownCancel.ExitCode);
        Assert.Contains("404", unknownCancel.Stderr);

        var noKey = await KimiaCli.RunAsync(new Dictionary<string, string?>(f.CliEnvironment) { ["KIMIA_API_KEY"] = null }, "status");
        Assert.Equal(1, noKey.ExitCode);
        Assert.Contains("401", noKey.Stderr);

        foreach (var command in new[] { "retry-failed", "doctor" })
        {
            var help = await Kimia(command, "--help");
            Assert.True(help.ExitCode == 0, help.ToString());
            Assert.Contains("Usage:", help.Stdout);
        }
    }
}
