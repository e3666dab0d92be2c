using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator;

/// <summary>How the orchestrator's repositories run SQL: each attempt of the "postgres" pipeline on a connection of its own.</summary>
internal static class PostgresPipeline
{
    public static async Task<T> RunAsync<T>(this ResiliencePipeline pipeline, NpgsqlDataSource dataSource, Func<NpgsqlConnection, Task<T>> action, CancellationToken ct)
        => await pipeline.ExecuteAsync(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            return await action(connection);
        }, ct);
}
