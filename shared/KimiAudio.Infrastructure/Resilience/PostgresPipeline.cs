using Npgsql;
using Polly;

namespace KimiAudio.Infrastructure.Resilience;

/// <summary>How the repositories of the orchestrator and the worker run SQL: each attempt of the "postgres" pipeline on a connection of its own.</summary>
public static class PostgresPipeline
{
    /// <remarks>
    /// After a restart of the server every idle pooled connection is dead: on a lost connection the pool is cleared, so
    /// the retry opens a fresh one instead of drawing the next dead one.
    /// </remarks>
    public static async Task<T> RunAsync<T>(this ResiliencePipeline pipeline, NpgsqlDataSource dataSource, Func<NpgsqlConnection, Task<T>> action, CancellationToken ct)
        => await pipeline.ExecuteAsync(async token =>
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(token);
                return await action(connection);
            }
            catch (Exception ex) when (PipelineResilience.IsConnectionLost(ex))
            {
                dataSource.Clear();
                throw;
            }
        }, ct);
}
