using System.Text.RegularExpressions;
using KimiAudio.Orchestrator.Batches;

namespace KimiAudio.Orchestrator.Schedules;

/// <summary>A schedule that passed validation: its batch fields are checked by the same validator as POST /batches.</summary>
public sealed record ValidatedSchedule(string Name, string Cron, string TimeZone, string MissedRunPolicy, CronSchedule Schedule, ValidatedBatch Batch);

public static partial class ScheduleValidator
{
    public static ValidatedSchedule? Validate(CreateScheduleRequest r, out Dictionary<string, string[]> errors)
    {
        var batch = SubmitBatchValidator.Validate(new SubmitBatchRequest
        {
            Source = r.Source, Manifest = r.Manifest, Task = r.Task, Question = r.Question, OutputType = r.OutputType,
            Sampling = r.Sampling, Priority = r.Priority,
        }, out errors);
        var e = errors;
        void Add(string field, string message) => e[field] = [message];

        var name = r.Name?.Trim();
        if (string.IsNullOrEmpty(name) || !ScheduleName().IsMatch(name))
            Add("name", "required: starts with a letter; at most 64 letters, digits, '.', '_' or '-'");

        var timeZoneId = string.IsNullOrWhiteSpace(r.TimeZone) ? "UTC" : r.TimeZone.Trim();
        var zone = CronSchedule.FindZone(timeZoneId);
        if (zone is null) Add("timeZone", $"unknown time zone '{timeZoneId}': give an IANA id such as Europe/Berlin or UTC");

        CronSchedule? schedule = null;
        var cron = r.Cron?.Trim();
        if (string.IsNullOrEmpty(cron)) Add("cron", "required, e.g. \"0 3 * * *\" or \"*/10 * * * * *\" (seconds first)");
        else if ((schedule = CronSchedule.TryParse(cron, zone ?? TimeZoneInfo.Utc, out var cronError)) is null) Add("cron", $"'{cron}' {cronError}");

        var policy = string.IsNullOrWhiteSpace(r.MissedRunPolicy) ? CronSchedule.Skip : r.MissedRunPolicy.Trim().ToLowerInvariant();
        if (!CronSchedule.MissedRunPolicies.Contains(policy)) Add("missedRunPolicy", "must be skip or run_once");

        return e.Count > 0 || batch is null || schedule is null ? null : new ValidatedSchedule(name!, cron!, timeZoneId, policy, schedule, batch);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ScheduleName();
}
