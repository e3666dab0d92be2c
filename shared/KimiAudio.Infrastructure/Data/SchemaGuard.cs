using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KimiAudio.Infrastructure.Data;

/// <summary>
/// Refuses to start a service whose database is not migrated to the newest script in migrations/ (embedded at build time).
/// Services never migrate themselves.
/// </summary>
public sealed class SchemaGuard(NpgsqlDataSource dataSource, ILogger<SchemaGuard> logger) : IHostedService
{
    public const string HowToMigrate =
        "Apply the migrations first: `dotnet run --project migrations/KimiAudio.Migrator -- migrate --connection \"<connection string>\"` (or `kimia migrate`).";

    private const string JournalExistsSql = "SELECT to_regclass('public.schemaversions') IS NOT NULL";
    private const string AppliedSql = "SELECT scriptname FROM public.schemaversions";

    /// <summary>File name of the newest migration this build knows, e.g. 0001_pipeline_schema.sql.</summary>
    public static string LatestMigration { get; } = typeof(SchemaGuard).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("migrations/", StringComparison.Ordinal))
        .Select(n => n["migrations/".Length..])
        .Max(StringComparer.Ordinal) ?? throw new InvalidOperationException("no migrations embedded in KimiAudio.Infrastructure");

    /// <summary>A service started while PostgreSQL restarts (57P01, connection refused) waits for it this long before giving up.</summary>
    private static readonly TimeSpan StartupPatience = TimeSpan.FromSeconds(90);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartupPatience;
        while (true)
        {
            try
            {
                await CheckAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (Resilience.PipelineResilience.IsTransientPostgres(ex, cancellationToken) && DateTime.UtcNow < deadline)
            {
                logger.LogWarning("Database not reachable yet ({Reason}); retrying the schema check", ex.Message);
                dataSource.Clear();
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var journalExists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(JournalExistsSql, cancellationToken: cancellationToken));
        var applied = journalExists
            ? (await connection.QueryAsync<string>(new CommandDefinition(AppliedSql, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal)
            : [];
        if (!applied.Contains(LatestMigration))
        {
            var have = applied.Count == 0 ? "no migrations" : applied.Max(StringComparer.Ordinal);
            throw new InvalidOperationException(
                $"Database '{connection.Database}' is not migrated: it has {have}, this build needs {LatestMigration}. {HowToMigrate}");
        }
        logger.LogInformation("Database {Database} is migrated to {Migration}", connection.Database, LatestMigration);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
