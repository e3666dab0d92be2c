using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace KimiAudio.Worker.Health;

/// <summary>Ready only while PostgreSQL answers a trivial query (leases and results live there).</summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT 1";
        try
        {
            await using var command = dataSource.CreateCommand(sql);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL does not answer: " + ex.GetType().Name);
        }
    }
}
