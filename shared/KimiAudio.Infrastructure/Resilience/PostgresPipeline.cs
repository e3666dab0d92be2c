using Npgsql;
using Polly;

namespace KimiAudio.Infrastructure.Resilience;

/// <summary>How the repositories of the orchestrator and the worker run SQL: each attempt of the "postgres" pipeline on a connection of its own.</summary>
public static class PostgresPipeline
{
    public static async Task<T> RunAsync<T>(this ResiliencePipeline pipeline, NpgsqlDataSource dataSource, Func<NpgsqlConnection, Task<T>> action, CancellationToken ct)
        => await pipeline.ExecuteAsync(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            return await action(connection);
        }, ct);
}
