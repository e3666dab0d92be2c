using System.Text.Json;
using Dapper;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Resilience;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Batches;
using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>
/// SQL of schedules and their firings. The API's statements run through the "postgres" retry pipeline; a firing does not
/// (it submits batches inside its transaction, so the scheduler's next tick, not a retry, takes a failed one again).
/// </summary>
public sealed class ScheduleRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline)
{
    private const string Columns = """
        schedule_id, name, cron, time_zone, source, source_kind, task, question, output_type, options::text AS options_json,
        priority, missed_run_policy, paused, next_fire_at, last_fired_at, created_at
        """;

    /// <summary>The new schedule, or null when the name is taken.</summary>
    public async Task<ScheduleRow?> CreateAsync(Guid scheduleId, ValidatedSchedule s, DateTime nextFireAt, CancellationToken ct)
    {
        const string sql = $"""
            INSERT INTO schedules (schedule_id, name, cron, time_zone, source, source_kind, task, question, output_type, options,
                                   priority, missed_run_policy, next_fire_at)
            VALUES (@scheduleId, @Name, @Cron, @TimeZone, @source, @sourceKind, @task, @question, @outputType, CAST(@options AS jsonb),
                    @priority, @MissedRunPolicy, @nextFireAt)
            ON CONFLICT (name) DO NOTHING
            RETURNING {Columns}
            """;
        var b = s.Batch;
        return await pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(sql, new
        {
            scheduleId, s.Name, s.Cron, s.TimeZone, source = b.Location.ToString(), sourceKind = b.SourceKind, task = b.Task,
            question = b.Question, outputType = b.OutputType, options = JsonSerializer.Serialize(b.Sampling), priority = (short)b.Priority,
            s.MissedRunPolicy, nextFireAt,
        }, cancellationToken: ct)), ct);
    }

    public async Task<IReadOnlyList<ScheduleRow>> ListAsync(CancellationToken ct)
    {
        const string sql = $"SELECT {Columns} FROM schedules ORDER BY name";
        return await pipeline.RunAsync(dataSource,
            async c => (IReadOnlyList<ScheduleRow>)(await c.QueryAsync<ScheduleRow>(new CommandDefinition(sql, cancellationToken: ct))).ToList(), ct);
    }

    /// <summary>By id (a uuid) or by name.</summary>
    public async Task<ScheduleRow?> FindAsync(string idOrName, CancellationToken ct)
    {
        const string sql = $"SELECT {Columns} FROM schedules WHERE schedule_id = @id OR name = @idOrName";
        return await pipeline.RunAsync(dataSource,
            c => c.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(sql, new { id = AsId(idOrName), idOrName }, cancellationToken: ct)), ct);
    }

    public async Task<IReadOnlyList<FiringView>> RecentFiringsAsync(Guid scheduleId, int limit, CancellationToken ct)
    {
        const string sql = """
            SELECT fire_time, batch_id, error, fired_by, fired_at FROM schedule_firings
             WHERE schedule_id = @scheduleId ORDER BY fire_time DESC LIMIT @limit
            """;
        return await pipeline.RunAsync(dataSource,
            async c => (IReadOnlyList<FiringView>)(await c.QueryAsync<FiringView>(new CommandDefinition(sql, new { scheduleId, limit }, cancellationToken: ct))).ToList(), ct);
    }

    public async Task<bool> DeleteAsync(Guid scheduleId, CancellationToken ct)
    {
        const string sql = "DELETE FROM schedules WHERE schedule_id = @scheduleId";
        return await pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { scheduleId }, cancellationToken: ct)), ct) > 0;
    }

    /// <summary>Pauses, or resumes with a new due time (the fire times of the pause are not caught up).</summary>
    public async Task<ScheduleRow?> SetPausedAsync(Guid scheduleId, bool paused, DateTime? nextFireAt, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE schedules SET paused = @paused, next_fire_at = coalesce(@nextFireAt, next_fire_at)
             WHERE schedule_id = @scheduleId RETURNING {Columns}
            """;
        return await pipeline.RunAsync(dataSource,
            c => c.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(sql, new { scheduleId, paused, nextFireAt }, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// Takes one due schedule that no other instance holds (FOR UPDATE SKIP LOCKED), lets <paramref name="fire"/> submit
    /// its batches, then records the firings (primary key: schedule + fire time) and advances next_fire_at in the same
    /// transaction. A failure rolls everything back and the schedule is due again. False when nothing is due.
    /// </summary>
    public async Task<bool> FireOneDueAsync(DateTime nowUtc, Func<ScheduleRow, Task<ScheduleAdvance>> fire, CancellationToken ct)
    {
        const string select = $"""
            SELECT {Columns} FROM schedules WHERE NOT paused AND next_fire_at <= @nowUtc
             ORDER BY next_fire_at LIMIT 1 FOR UPDATE SKIP LOCKED
            """;
        const string insertFiring = """
            INSERT INTO schedule_firings (schedule_id, fire_time, batch_id, error, fired_by)
            VALUES (@scheduleId, @FireTime, @BatchId, @Error, @firedBy)
            """;
        const string advance = """
            UPDATE schedules SET next_fire_at = @nextFireAt, last_fired_at = coalesce(@lastFiredAt, last_fired_at)
             WHERE schedule_id = @scheduleId
            """;
        await using var c = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var due = await c.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(select, new { nowUtc }, tx, cancellationToken: ct));
        if (due is null) return false;
        var result = await fire(due);
        foreach (var f in result.Firings)
            await c.ExecuteAsync(new CommandDefinition(insertFiring, new { due.ScheduleId, f.FireTime, f.BatchId, f.Error, firedBy = result.FiredBy }, tx, cancellationToken: ct));
        DateTime? lastFiredAt = result.Firings.Count > 0 ? result.Firings[^1].FireTime : null;
        await c.ExecuteAsync(new CommandDefinition(advance, new { due.ScheduleId, nextFireAt = result.NextFireAt, lastFiredAt }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return true;
    }

    private static Guid? AsId(string idOrName) => Guid.TryParse(idOrName, out var id) ? id : null;
}

public sealed record Firing(DateTime FireTime, Guid? BatchId, string? Error);

public sealed record ScheduleAdvance(IReadOnlyList<Firing> Firings, DateTime NextFireAt, string FiredBy);

public sealed record ScheduleRow
{
    public Guid ScheduleId { get; init; }
    public string Name { get; init; } = "";
    public string Cron { get; init; } = "";
    public string TimeZone { get; init; } = "";
    public string Source { get; init; } = "";
    public string SourceKind { get; init; } = "";
    public string Task { get; init; } = "";
    public string? Question { get; init; }
    public string OutputType { get; init; } = "";
    public string OptionsJson { get; init; } = "{}";
    public short Priority { get; init; }
    public string MissedRunPolicy { get; init; } = "";
    public bool Paused { get; init; }
    public DateTime NextFireAt { get; init; }
    public DateTime? LastFiredAt { get; init; }
    public DateTime CreatedAt { get; init; }

    /// <summary>The batch every firing submits.</summary>
    public ValidatedBatch ToBatch()
    {
        if (!S3Uri.TryParse(Source, out var location)) throw new InvalidOperationException($"schedule {Name} has a bad source '{Source}'");
        var sampling = JsonSerializer.Deserialize<SamplingOptions>(OptionsJson) ?? new SamplingOptions();
        return new ValidatedBatch(location, SourceKind == "manifest", Task, Question, OutputType, sampling, (byte)Priority);
    }
}

public sealed record FiringView
{
    public DateTime FireTime { get; init; }
    public Guid? BatchId { get; init; }
    public string? Error { get; init; }
    public string FiredBy { get; init; } = "";
    public DateTime FiredAt { get; init; }
}
