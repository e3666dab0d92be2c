using MassTransit;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>HTTP API of schedules; {schedule} is the id or the name.</summary>
public static class ScheduleEndpoints
{
    public static IEndpointRouteBuilder MapScheduleEndpoints(this IEndpointRouteBuilder app)
    {
        var schedules = app.MapGroup("/schedules");
        schedules.MapPost("/", CreateAsync).WithSummary("Create a schedule that submits a batch at each cron fire time")
            .Produces<ScheduleView>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesValidationProblem(StatusCodes.Status409Conflict);
        schedules.MapGet("/", ListAsync).WithSummary("Every schedule").Produces<ScheduleList>();
        schedules.MapGet("/{schedule}", GetAsync).WithSummary("One schedule (id or name) with its 20 newest firings")
            .Produces<ScheduleView>().Produces(StatusCodes.Status404NotFound);
        schedules.MapDelete("/{schedule}", DeleteAsync).WithSummary("Remove a schedule (id or name)")
            .Produces(StatusCodes.Status204NoContent).Produces(StatusCodes.Status404NotFound);
        schedules.MapPost("/{schedule}/pause", (string schedule, ScheduleRepository r, TimeProvider clock, CancellationToken ct) => SetPausedAsync(schedule, true, r, clock, ct))
            .WithSummary("Pause a schedule (id or name)").Produces<ScheduleView>().Produces(StatusCodes.Status404NotFound);
        schedules.MapPost("/{schedule}/resume", (string schedule, ScheduleRepository r, TimeProvider clock, CancellationToken ct) => SetPausedAsync(schedule, false, r, clock, ct))
            .WithSummary("Resume a schedule (id or name); its next fire time is computed from now").Produces<ScheduleView>().Produces(StatusCodes.Status404NotFound);
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
            : Results.Created($"/schedules/{row.ScheduleId}", ScheduleView.From(row, null));
    }

    private static async Task<IResult> ListAsync(ScheduleRepository repository, CancellationToken ct)
        => Results.Ok(new ScheduleList([.. (await repository.ListAsync(ct)).Select(r => ScheduleView.From(r, null))]));

    private static async Task<IResult> GetAsync(string schedule, ScheduleRepository repository, CancellationToken ct)
    {
        var row = await repository.FindAsync(schedule, ct);
        return row is null ? Results.NotFound() : Results.Ok(ScheduleView.From(row, await repository.RecentFiringsAsync(row.ScheduleId, 20, ct)));
    }

    private static async Task<IResult> DeleteAsync(string schedule, ScheduleRepository repository, CancellationToken ct)
        => await repository.FindAsync(schedule, ct) is { } row && await repository.DeleteAsync(row.ScheduleId, ct) ? Results.NoContent() : Results.NotFound();

    private static async Task<IResult> SetPausedAsync(string schedule, bool paused, ScheduleRepository repository, TimeProvider clock, CancellationToken ct)
    {
        if (await repository.FindAsync(schedule, ct) is not { } row) return Results.NotFound();
        DateTime? next = paused ? null : CronSchedule.Parse(row.Cron, row.TimeZone).NextAfter(clock.GetUtcNow().UtcDateTime);
        return await repository.SetPausedAsync(row.ScheduleId, paused, next, ct) is { } updated ? Results.Ok(ScheduleView.From(updated, null)) : Results.NotFound();
    }
}
