namespace KimiAudio.Chaos;

/// <summary>What one soak run does. Everything random in it is drawn from <see cref="Seed"/>.</summary>
public sealed record ChaosProfile
{
    public int Seed { get; init; } = 1;
    /// <summary>Files in all: the main (asr, prefix) batch and the chat batch together.</summary>
    public int Files { get; init; } = 2000;
    /// <summary>Of <see cref="Files"/>, how many go to the chat batch (outputType both: speech artifacts are written).</summary>
    public int ChatFiles { get; init; } = 300;
    /// <summary>Share of files long enough for several segments.</summary>
    public double LongShare { get; init; } = 0.08;
    public int Workers { get; init; } = 3;
    public int WorkerKills { get; init; } = 12;
    public int RabbitMqRestarts { get; init; } = 1;
    public int PostgresRestarts { get; init; } = 1;
    /// <summary>S3 requests (through the proxy) answered 500 or held past the client timeout.</summary>
    public double S3FaultRate { get; init; } = 0.10;
    /// <summary>Duplicate ProcessAudio messages published per round (a round every 2 s while the batch runs).</summary>
    public int DuplicatesPerRound { get; init; } = 4;
    /// <summary>Job rows per page of the submitter (small: the orchestrator is killed between pages).</summary>
    public int PageSize { get; init; } = 25;
    public int EngineDelayMs { get; init; } = 20;
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(25);

    public static ChaosProfile Full(int seed) => new() { Seed = seed };

    /// <summary>The profile the pipeline tests run: every fault kind at least once, a few minutes.</summary>
    public static ChaosProfile Short(int seed) => new()
    {
        Seed = seed, Files = 240, ChatFiles = 40, WorkerKills = 3, DuplicatesPerRound = 3, PageSize = 10, DrainTimeout = TimeSpan.FromMinutes(10),
    };
}
