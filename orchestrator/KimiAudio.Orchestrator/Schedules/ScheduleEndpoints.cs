using System.Text.Json;
using MassTransit;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>HTTP API of schedules; {schedule} is the id or the name.</summary>
public static class ScheduleEndpoints
{
    public static IEndpointRouteBuilder MapScheduleEndpoints(this IEndpointRouteBuilder app)
    {
        var schedules = app.MapGroup("/schedules");
        schedules.MapPost("/", CreateAsync);
        schedules.MapGet("/", ListAsync);
        schedules.MapGet("/{schedule}", GetAsync);
        schedules.MapDelete("/{schedule}", DeleteAsync);
        schedules.MapPost("/{schedule}/pause", (string schedule, ScheduleRepository r, TimeProvider clock, CancellationToken ct) => SetPausedAsync(schedule, true, r, clock, ct));
        schedules.MapPost("/{schedule}/resume", (string schedule, ScheduleRepository r, TimeProvider clock, CancellationToken ct) => SetPausedAsync(schedule, false, r, clock, ct));
        return app;
    }

    private static async Task<IResult> CreateAsync(CreateScheduleRequest request, ScheduleRepository repository, TimeProvider clock, CancellationToken ct)
    {
        var schedule = ScheduleValidator.Validate(request, out var errors);
        if (schedule is null) return Results.ValidationProblem(errors);
        var next = schedule.Schedule.NextAfter(clock.GetUtcNow().UtcDateTime);
        var row = await repository.CreateAsync(NewId.NextGuid(), schedule, next, ct);
        return row is null
            ? Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"a schedule named '{schedule.Name}' exists"] }, statusCode: StatusCodes.Status409Conflict)
            : Results.Created($"/schedules/{row.ScheduleId}", ToView(row, null));
    }

    private static async Task<IResult> ListAsync(ScheduleRepository repository, CancellationToken ct)
        => Results.Ok(new { items = (await repository.ListAsync(ct)).Select(r => ToView(r, null)) });

    private static async Task<IResult> GetAsync(string schedule, ScheduleRepository repository, CancellationToken ct)
    {
        var row = await repository.FindAsync(schedule, ct);
        return row is null ? Results.NotFound() : Results.Ok(ToView(row, await repository.RecentFiringsAsync(row.ScheduleId, 20, ct)));
    }

    private static async Task<IResult> DeleteAsync(string schedule, ScheduleRepository repository, CancellationToken ct)
        => await repository.FindAsync(schedule, ct) is { } row && await repository.DeleteAsync(row.ScheduleId, ct) ? Results.NoContent() : Results.NotFound();

    private static async Task<IResult> SetPausedAsync(string schedule, bool paused, ScheduleRepository repository, TimeProvider clock, CancellationToken ct)
    {
        if (await repository.FindAsync(schedule, ct) is not { } row) return Results.NotFound();
        DateTime? next = paused ? null : CronSchedule.Parse(row.Cron, row.TimeZone).NextAfter(clock.GetUtcNow().UtcDateTime);
        return await repository.SetPausedAsync(row.ScheduleId, paused, next, ct) is { } updated ? Results.Ok(ToView(updated, null)) : Results.NotFound();
    }

    private static object ToView(ScheduleRow r, IReadOnlyList<FiringView>? firings) => new
    {
        scheduleId = r.ScheduleId, name = r.Name, cron = r.Cron, timeZone = r.TimeZone, missedRunPolicy = r.MissedRunPolicy,
        source = r.Source, sourceKind = r.SourceKind, task = r.Task, question = r.Question, outputType = r.OutputType,
        sampling = JsonSerializer.Deserialize<JsonElement>(r.OptionsJson), priority = r.Priority, paused = r.Paused,
        nextFireAt = r.NextFireAt, lastFiredAt = r.LastFiredAt, createdAt = r.CreatedAt, recentFirings = firings,
    };
}
