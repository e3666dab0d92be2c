using System.Diagnostics;
using System.Text;
using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// An orchestrator SIGKILLed half way through POST /batches: another replica's resumer finishes the batch from the
/// checkpointed cursor, every file gets exactly one job row, and every job at least one message with its job id as the
/// message id (only the page in flight at the kill may be published twice; the worker's claim is keyed by job id).
/// </summary>
public sealed class ResumableSubmissionTests : IAsyncLifetime
{
    private const int PageSize = 5;
    private TestPipeline p = null!;

    private static readonly Dictionary<string, string?> Fast = new()
    {
        ["Orchestrator:PageSize"] = PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Orchestrator:SubmitLeaseSeconds"] = "2",
        ["Orchestrator:ResumeIntervalSeconds"] = "0.3",
        ["Orchestrator:PublishGraceSeconds"] = "5", // long enough that a page is marked queued before the sweeper would republish it
        ["Orchestrator:ManifestHeadParallelism"] = "2",
    };

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task A_prefix_submission_killed_mid_listing_is_finished_by_another_replica_with_each_row_once()
    {
        const int files = 300;
        await UploadAsync("res/", files);
        await KillMidSubmissionAndResumeAsync(new { source = $"s3://{p.Bucket}/res/", task = "asr" }, files);
    }

    [Fact]
    public async Task A_manifest_submission_killed_mid_way_is_finished_from_its_entry_cursor()
    {
        const int files = 200;
        await UploadAsync("man/", files);
        var lines = new StringBuilder();
        for (var i = 0; i < files; i++)
        {
            if (i % 50 == 7) lines.AppendLine(); // blank lines are not entries: the cursor counts entries
            lines.AppendLine(JsonSerializer.Serialize(new { key = $"man/f-{i:D4}.wav", prompt = $"p{i}" }));
        }
        await p.UploadAsync("lists/m.jsonl", Encoding.UTF8.GetBytes(lines.ToString()));
        await KillMidSubmissionAndResumeAsync(new { manifest = $"s3://{p.Bucket}/lists/m.jsonl", task = "asr" }, files);
        // the prompts stayed with their keys across the resume
        var mismatched = await p.QuerySingleAsync<int>(
            "SELECT count(*)::int FROM jobs WHERE prompt IS DISTINCT FROM 'p' || ltrim(substring(input_key FROM 'f-([0-9]+)'), '0')" +
            " AND input_key <> 'man/f-0000.wav'");
        Assert.Equal(0, mismatched);
    }

    private async Task UploadAsync(string prefix, int files)
    {
        var wav = TestAudio.ToneWav(0.1);
        await Parallel.ForEachAsync(Enumerable.Range(0, files), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => await p.UploadAsync($"{prefix}f-{i:D4}.wav", wav));
    }

    private async Task KillMidSubmissionAndResumeAsync(object request, int files)
    {
        var first = await OrchestratorProcess.StartAsync(p, Fast);
        var post = first.Api.PostAsync("/batches", JsonContent(request)); // never answers: the process is killed
        var clock = Stopwatch.StartNew();
        int seqAtKill;
        while ((seqAtKill = await p.QuerySingleAsync<int>("SELECT coalesce(max(submit_seq), 0)::int FROM batches")) < 40)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the submission never reached 40 jobs:\n" + p.Output);
            Assert.False(post.IsCompleted && !post.IsFaulted && seqAtKill == 0, "POST /batches answered before any page was written:\n" + p.Output);
            await Task.Delay(10);
        }
        await first.KillAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => post);
        var afterKill = await p.QuerySingleAsync<(Guid, string, int)>("SELECT batch_id, state, submit_seq FROM batches");
        Assert.Equal("submitting", afterKill.Item2);
        Assert.True(afterKill.Item3 < files, $"the submission had finished ({afterKill.Item3} rows) before the kill; the test proves nothing");
        var batchId = afterKill.Item1;

        // two replicas: both run a resumer, one takes the batch
        await p.StartOrchestratorAsync(Fast);
        await p.StartOrchestratorAsync(Fast);
        clock.Restart();
        while (await p.QuerySingleAsync<string>("SELECT state FROM batches WHERE batch_id = @batchId", new { batchId }) == "submitting")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the batch is still submitting a minute after the kill:\n" + p.Output);
            await Task.Delay(100);
        }
        // the page published (or not) by the killed process is published by the sweeper after the grace period
        while (await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state = 'pending'", new { batchId }) > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), "jobs left pending:\n" + p.Output);
            await Task.Delay(100);
        }

        var rows = await p.QuerySingleAsync<(int Rows, int Keys, int Seqs, int MaxSeq, int Total)>("""
            SELECT count(*)::int, count(DISTINCT input_key)::int, count(DISTINCT seq)::int, max(seq), (SELECT total_jobs FROM batches WHERE batch_id = @batchId)
              FROM jobs WHERE batch_id = @batchId
            """, new { batchId });
        Assert.Equal((files, files, files, files, files), rows);
        Assert.Equal("running", await p.QuerySingleAsync<string>("SELECT state FROM batches WHERE batch_id = @batchId", new { batchId }));

        var jobIds = (await p.QueryAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @batchId", new { batchId })).ToHashSet();
        var messages = await DrainWorkQueueAsync();
        Assert.All(messages, m => Assert.Equal(m.JobId, m.MessageId));
        Assert.Equal(jobIds.OrderBy(x => x), messages.Select(m => m.JobId).Distinct().OrderBy(x => x));
        var duplicates = messages.Count - jobIds.Count;
        Assert.True(duplicates <= PageSize, $"{duplicates} duplicate message(s): more than the one page in flight at the kill");
    }

    private static StringContent JsonContent(object request)
        => new(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");

    /// <summary>Takes every message out of the work queue (no worker runs in these tests).</summary>
    private async Task<List<(Guid MessageId, Guid JobId)>> DrainWorkQueueAsync()
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(p.RabbitMqUri) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<(Guid, Guid)>();
        while (await channel.BasicGetAsync(ServiceDefaults.ProcessAudioTopology.QueueName, autoAck: true) is { } got)
        {
            using var envelope = JsonDocument.Parse(got.Body);
            var root = envelope.RootElement;
            messages.Add((root.GetProperty("messageId").GetGuid(), root.GetProperty("message").GetProperty("jobId").GetGuid()));
        }
        return messages;
    }
}
