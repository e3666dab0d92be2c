using Cronos;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>A cron expression (5 fields, or 6 with seconds first) read in an IANA time zone.</summary>
public sealed class CronSchedule
{
    public const string Skip = "skip";
    public const string RunOnce = "run_once";
    public static readonly string[] MissedRunPolicies = [Skip, RunOnce];

    private readonly CronExpression expression;
    private readonly TimeZoneInfo zone;

    private CronSchedule(CronExpression expression, TimeZoneInfo zone) => (this.expression, this.zone) = (expression, zone);

    /// <summary>Null with a reason when the expression does not parse or never fires.</summary>
    public static CronSchedule? TryParse(string cron, TimeZoneInfo zone, out string? error)
    {
        error = null;
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            error = $"has {fields} field(s): give 5 (minute hour day month weekday) or 6 (second first)";
            return null;
        }
        try
        {
            var expression = CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            if (expression.GetNextOccurrence(DateTime.UtcNow, zone) is null)
            {
                error = "never fires";
                return null;
            }
            return new CronSchedule(expression, zone);
        }
        catch (CronFormatException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    /// <summary>An IANA (or Windows) time zone id known to this machine.</summary>
    public static TimeZoneInfo? FindZone(string id) => TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;

    /// <summary>A stored (already validated) schedule.</summary>
    public static CronSchedule Parse(string cron, string timeZone)
        => TryParse(cron, FindZone(timeZone) ?? throw new InvalidOperationException($"unknown time zone '{timeZone}'"), out var error)
           ?? throw new InvalidOperationException($"cron '{cron}' {error}");

    /// <summary>The first fire time strictly after <paramref name="afterUtc"/>.</summary>
    public DateTime NextAfter(DateTime afterUtc)
        => expression.GetNextOccurrence(DateTime.SpecifyKind(afterUtc, DateTimeKind.Utc), zone)
           ?? throw new InvalidOperationException("the schedule has no further fire time");

    /// <summary>
    /// What to fire now, given the stored due time. Fire times at most <paramref name="tolerance"/> old are on time and
    /// all fire (a tick may cover more than one). Older ones were missed: 'skip' drops them, 'run_once' fires the newest
    /// of them once when no on-time fire time is there. The next due time is always in the future.
    /// </summary>
    public FiringPlan Plan(DateTime dueUtc, DateTime nowUtc, string missedRunPolicy, TimeSpan tolerance)
    {
        dueUtc = DateTime.SpecifyKind(dueUtc, DateTimeKind.Utc);
        var onTime = new List<DateTime>();
        DateTime? lastMissed = null;
        for (var t = dueUtc; t <= nowUtc; t = NextAfter(t))
        {
            if (nowUtc - t <= tolerance) onTime.Add(t);
            else lastMissed = t;
        }
        if (onTime.Count == 0 && lastMissed is { } missed && missedRunPolicy == RunOnce) onTime.Add(missed);
        return new FiringPlan(onTime, lastMissed is not null, NextAfter(nowUtc));
    }
}

/// <summary>The fire times to submit now, whether any were missed, and the next due time.</summary>
public sealed record FiringPlan(IReadOnlyList<DateTime> FireTimes, bool Missed, DateTime NextFireAt);
