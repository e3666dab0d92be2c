using KimiAudio.Orchestrator.Schedules;

namespace KimiAudio.Pipeline.Tests;

/// <summary>Fire-time arithmetic of schedules (no services): time zones, and the missed-run policies with a fixed clock.</summary>
public sealed class CronScheduleTests
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(60);
    private static DateTime Utc(int month, int day, int hour, int minute = 0, int second = 0) => new(2026, month, day, hour, minute, second, DateTimeKind.Utc);

    [Fact]
    public void A_cron_is_read_in_its_time_zone_across_daylight_saving_changes()
    {
        var berlin = CronSchedule.Parse("0 3 * * *", "Europe/Berlin");
        Assert.Equal(Utc(1, 11, 2), berlin.NextAfter(Utc(1, 10, 12)));  // CET = UTC+1
        Assert.Equal(Utc(7, 11, 1), berlin.NextAfter(Utc(7, 10, 12)));  // CEST = UTC+2
        var seconds = CronSchedule.Parse("*/15 * * * * *", "UTC");
        Assert.Equal(Utc(3, 1, 0, 0, 15), seconds.NextAfter(Utc(3, 1, 0, 0, 0)));
    }

    [Fact]
    public void An_on_time_fire_time_fires_under_either_policy()
    {
        var hourly = CronSchedule.Parse("0 * * * *", "UTC");
        foreach (var policy in CronSchedule.MissedRunPolicies)
        {
            var plan = hourly.Plan(Utc(3, 1, 10), Utc(3, 1, 10, 0, 2), policy, Tolerance);
            Assert.Equal([Utc(3, 1, 10)], plan.FireTimes);
            Assert.False(plan.Missed);
            Assert.Equal(Utc(3, 1, 11), plan.NextFireAt);
        }
    }

    [Fact]
    public void After_downtime_skip_fires_nothing_and_run_once_fires_the_newest_missed_time_once()
    {
        var hourly = CronSchedule.Parse("0 * * * *", "UTC");
        var due = Utc(3, 1, 10);
        var now = Utc(3, 1, 15, 20); // down from before 10:00 until 15:20: 10, 11, 12, 13, 14 and 15 o'clock were missed

        var skip = hourly.Plan(due, now, CronSchedule.Skip, Tolerance);
        Assert.Empty(skip.FireTimes);
        Assert.True(skip.Missed);
        Assert.Equal(Utc(3, 1, 16), skip.NextFireAt);

        var once = hourly.Plan(due, now, CronSchedule.RunOnce, Tolerance);
        Assert.Equal([Utc(3, 1, 15)], once.FireTimes);
        Assert.Equal(Utc(3, 1, 16), once.NextFireAt);
    }

    [Fact]
    public void Every_on_time_second_of_a_late_tick_fires_once_and_older_ones_are_missed()
    {
        var everySecond = CronSchedule.Parse("* * * * * *", "UTC");
        var plan = everySecond.Plan(Utc(3, 1, 10, 0, 0), Utc(3, 1, 10, 1, 5), CronSchedule.Skip, Tolerance);
        Assert.Equal(61, plan.FireTimes.Count); // 10:00:05 … 10:01:05 are within the 60 s tolerance
        Assert.Equal(Utc(3, 1, 10, 0, 5), plan.FireTimes[0]);
        Assert.Equal(plan.FireTimes.Count, plan.FireTimes.Distinct().Count());
        Assert.True(plan.Missed);
        Assert.Equal(Utc(3, 1, 10, 1, 6), plan.NextFireAt);
    }
}
