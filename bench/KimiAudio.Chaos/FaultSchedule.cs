namespace KimiAudio.Chaos;

public enum FaultKind { WorkerKill, RabbitMqRestart, PostgresRestart }

/// <summary>One scheduled fault: it fires when this share of all jobs is terminal (so it lands mid-batch on any machine).</summary>
public sealed record FaultEvent(FaultKind Kind, double AtProgress, int Worker, TimeSpan RestartAfter)
{
    public override string ToString() => Kind == FaultKind.WorkerKill
        ? $"kill worker-{Worker} at {AtProgress:P0} (back after {RestartAfter.TotalSeconds:F1} s)"
        : $"{Kind} at {AtProgress:P0}";
}

/// <summary>The seeded fault schedule: the same seed draws the same faults at the same points of the batch's progress.</summary>
public static class FaultSchedule
{
    public static IReadOnlyList<FaultEvent> Draw(Random rng, ChaosProfile profile)
    {
        var events = new List<FaultEvent>();
        for (var i = 0; i < profile.WorkerKills; i++)
            events.Add(new FaultEvent(FaultKind.WorkerKill, 0.03 + 0.85 * rng.NextDouble(), rng.Next(profile.Workers), TimeSpan.FromSeconds(0.5 + 2.5 * rng.NextDouble())));
        for (var i = 0; i < profile.RabbitMqRestarts; i++) events.Add(new FaultEvent(FaultKind.RabbitMqRestart, 0.2 + 0.4 * rng.NextDouble(), -1, TimeSpan.Zero));
        for (var i = 0; i < profile.PostgresRestarts; i++) events.Add(new FaultEvent(FaultKind.PostgresRestart, 0.3 + 0.5 * rng.NextDouble(), -1, TimeSpan.Zero));
        return events.OrderBy(e => e.AtProgress).ToList();
    }
}
