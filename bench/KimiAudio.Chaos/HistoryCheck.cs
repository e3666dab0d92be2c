using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using KimiAudio.Infrastructure.Storage;
using Npgsql;

namespace KimiAudio.Chaos;

/// <summary>
/// Reads the history after the soak and judges it: every uploaded file has exactly one job row and every job is
/// terminal (else: lost); one result per succeeded job and none for another; one speech object per chat result and no
/// object without a result (orphan); no checkpointed segment run again after its checkpoint committed.
/// </summary>
public sealed partial class HistoryCheck(NpgsqlDataSource db, IObjectStore store, string bucket, IReadOnlySet<string> uploaded, IReadOnlyList<string> callLogs)
{
    private const string ResultsPrefix = "kimia-results/";

    public async Task<ChaosReport> RunAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var jobs = (await c.QueryAsync<(Guid JobId, string Key, string State, string? Error)>(new CommandDefinition(
            "SELECT job_id, input_key, state, error FROM jobs", cancellationToken: ct))).ToList();
        var results = (await c.QueryAsync<(Guid JobId, string? ArtifactKey)>(new CommandDefinition(
            "SELECT job_id, artifact_key FROM results", cancellationToken: ct))).ToList();
        var segments = (await c.QueryAsync<(Guid JobId, int Index, long CreatedMs)>(new CommandDefinition(
            "SELECT job_id, segment_index, (extract(epoch FROM created_at) * 1000)::bigint FROM job_segments", cancellationToken: ct)))
            .ToDictionary(s => (s.JobId, s.Index), s => s.CreatedMs);
        var objects = new List<string>();
        await foreach (var o in store.ListAsync(bucket, ResultsPrefix, ct)) objects.Add(o.Key);

        var report = new ChaosReport();
        var states = jobs.GroupBy(j => j.State).ToDictionary(g => g.Key, g => g.Count());
        var byKey = jobs.GroupBy(j => j.Key).ToDictionary(g => g.Key, g => g.Count());
        var succeeded = jobs.Where(j => j.State == "succeeded").Select(j => j.JobId).ToHashSet();
        var resultJobs = results.GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.Count());

        report.Add("files uploaded", uploaded.Count);
        report.Add("jobs submitted (rows)", jobs.Count);
        report.Add("succeeded", states.GetValueOrDefault("succeeded"));
        var failed = jobs.Where(j => j.State == "failed").ToList();
        report.Add("failed", failed.Count);
        foreach (var reason in failed.GroupBy(j => Normalize(j.Error)).OrderByDescending(g => g.Count()))
            report.Add($"  failed: {reason.Key}", reason.Count());
        foreach (var other in states.Where(s => s.Key is "cancelled" or "skipped")) report.Add(other.Key, other.Value);

        var missingRows = uploaded.Count(k => !byKey.ContainsKey(k));
        var open = jobs.Count(j => j.State is "pending" or "queued" or "running");
        var succeededWithoutResult = succeeded.Count(id => !resultJobs.ContainsKey(id));
        var objectSet = objects.ToHashSet();
        var missingSpeech = results.Count(r => r.ArtifactKey is not null && !objectSet.Contains(r.ArtifactKey));
        report.MustBeZero("lost: files without a job row", missingRows);
        report.MustBeZero("lost: jobs never terminal", open);
        report.MustBeZero("lost: succeeded jobs without a result row", succeededWithoutResult);
        report.MustBeZero("lost: result rows whose speech object is missing", missingSpeech);

        report.MustBeZero("duplicated: job rows of one file (extra rows)", byKey.Values.Sum(n => n - 1));
        report.MustBeZero("duplicated: result rows per job (extra rows)", resultJobs.Values.Sum(n => n - 1));
        report.MustBeZero("duplicated: result rows of jobs not succeeded", resultJobs.Keys.Count(id => !succeeded.Contains(id)));
        var speechPerJob = objects.Select(JobOf).Where(id => id is not null).GroupBy(id => id).Sum(g => g.Count() - 1);
        report.MustBeZero("duplicated: speech objects per job (extra objects)", speechPerJob);

        var (runs, rerunAfterCommit) = await CountSegmentRunsAsync(segments, ct);
        report.Add("segment checkpoints", segments.Count);
        report.Add("engine runs of segments (incl. runs lost to a kill)", runs);
        report.MustBeZero("duplicated: checkpointed segments run again after commit", rerunAfterCommit);

        var referenced = results.Where(r => r.ArtifactKey is not null).Select(r => r.ArtifactKey!).ToHashSet();
        report.Add("speech objects", objects.Count);
        report.MustBeZero("orphaned S3 objects (speech without a result row)", objects.Count(o => !referenced.Contains(o)));
        return report;
    }

    /// <summary>A run of a segment counts as a re-run after commit when its engine call finished after the checkpoint's commit time.</summary>
    private async Task<(int Runs, int RerunAfterCommit)> CountSegmentRunsAsync(Dictionary<(Guid, int), long> segments, CancellationToken ct)
    {
        int runs = 0, rerun = 0;
        foreach (var callLog in callLogs.Where(File.Exists))
        foreach (var line in await File.ReadAllLinesAsync(callLog, ct))
        {
            var parts = line.Split(' ');
            if (parts.Length != 3 || !Guid.TryParse(parts[0], out var job)) continue; // a line cut by a SIGKILL
            runs++;
            var index = int.Parse(parts[1], CultureInfo.InvariantCulture);
            var finishedMs = long.Parse(parts[2], CultureInfo.InvariantCulture);
            // the engine's line is written before the checkpoint is saved; 50 ms covers the clocks' granularity
            if (segments.TryGetValue((job, index), out var committedMs) && finishedMs > committedMs + 50) rerun++;
        }
        return (runs, rerun);
    }

    private static Guid? JobOf(string key)
        => Guid.TryParseExact(Path.GetFileNameWithoutExtension(key), "N", out var id) ? id : null;

    private static string Normalize(string? error)
        => error is null ? "(no reason)" : AttemptPrefix().Replace(error, "").Trim() is var e && e.Length > 90 ? e[..90] + "…" : AttemptPrefix().Replace(error, "").Trim();

    [GeneratedRegex(@"^attempt \d+: ")]
    private static partial Regex AttemptPrefix();
}
