using System.Text.Json;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>A schedule as the API answers it; <see cref="RecentFirings"/> only from GET /schedules/{schedule}.</summary>
public sealed record ScheduleView(
    Guid ScheduleId, string Name, string Cron, string TimeZone, string MissedRunPolicy, string Source, string SourceKind,
    string Task, string? Question, string OutputType, JsonElement Sampling, short Priority, bool Paused, DateTime NextFireAt,
    DateTime? LastFiredAt, DateTime CreatedAt, IReadOnlyList<FiringView>? RecentFirings)
{
    public static ScheduleView From(ScheduleRow r, IReadOnlyList<FiringView>? firings) => new(
        r.ScheduleId, r.Name, r.Cron, r.TimeZone, r.MissedRunPolicy, r.Source, r.SourceKind, r.Task, r.Question, r.OutputType,
        JsonSerializer.Deserialize<JsonElement>(r.OptionsJson), r.Priority, r.Paused, r.NextFireAt, r.LastFiredAt, r.CreatedAt, firings);
}

/// <summary>GET /schedules answer.</summary>
public sealed record ScheduleList(IReadOnlyList<ScheduleView> Items);
