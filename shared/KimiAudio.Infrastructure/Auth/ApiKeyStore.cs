using System.Text.RegularExpressions;
using Dapper;
using KimiAudio.Infrastructure.Resilience;
using Npgsql;
using Polly;

namespace KimiAudio.Infrastructure.Auth;

/// <summary>API keys in Postgres: created, listed and revoked by the CLI, verified by the orchestrator on every request.</summary>
/// <remarks>
/// The orchestrator passes its "postgres" retry pipeline: a key is verified on every request, so a database restart must
/// read as a short wait, not as 500s. The CLI and the tests run each statement once (no pipeline).
/// </remarks>
public sealed partial class ApiKeyStore(NpgsqlDataSource dataSource, ResiliencePipeline? pipeline = null)
{
    private readonly ResiliencePipeline pipeline = pipeline ?? ResiliencePipeline.Empty;

    // columns are aliased to the property names: the CLI does not set Dapper's global underscore matching
    /// <summary>Keys unused this long get their last_used_at refreshed by a verification (one write per key and interval).</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>Creates a key; the returned text is the only copy of the key (the table keeps its hash).</summary>
    public async Task<(ApiKeyInfo Info, string Key)> CreateAsync(string name, CancellationToken ct)
    {
        if (!ValidName().IsMatch(name))
            throw new ArgumentException("a key name starts with a letter and has at most 64 letters, digits, '.', '_' or '-'", nameof(name));
        const string sql = """
            INSERT INTO api_keys (name, prefix, hash) VALUES (@name, @prefix, @hash)
            RETURNING id, name, prefix, created_at AS CreatedAt, revoked_at AS RevokedAt, last_used_at AS LastUsedAt
            """;
        var (key, prefix, hash) = ApiKeySecret.Generate();
        try
        {
            var info = await pipeline.RunAsync(dataSource,
                c => c.QuerySingleAsync<ApiKeyInfo>(new CommandDefinition(sql, new { name, prefix, hash }, cancellationToken: ct)), ct);
            return (info, key);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "api_keys_active_name")
        {
            throw new ArgumentException($"an active key named '{name}' exists; revoke it first or choose another name", nameof(name), ex);
        }
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken ct)
    {
        const string sql = "SELECT id, name, prefix, created_at AS CreatedAt, revoked_at AS RevokedAt, last_used_at AS LastUsedAt FROM api_keys ORDER BY id";
        return await pipeline.RunAsync(dataSource,
            async c => (IReadOnlyList<ApiKeyInfo>)(await c.QueryAsync<ApiKeyInfo>(new CommandDefinition(sql, cancellationToken: ct))).ToList(), ct);
    }

    /// <summary>Revokes the key with this id (all digits) or the active key with this name; false when there is none.</summary>
    public async Task<bool> RevokeAsync(string idOrName, CancellationToken ct)
    {
        const string byId = "UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL";
        const string byName = "UPDATE api_keys SET revoked_at = now() WHERE name = @idOrName AND revoked_at IS NULL";
        var changed = await pipeline.RunAsync(dataSource, c => long.TryParse(idOrName, out var id)
            ? c.ExecuteAsync(new CommandDefinition(byId, new { id }, cancellationToken: ct))
            : c.ExecuteAsync(new CommandDefinition(byName, new { idOrName }, cancellationToken: ct)), ct);
        return changed > 0;
    }

    /// <summary>The active key that this text is, or null (malformed, unknown, wrong secret or revoked).</summary>
    public async Task<ApiKeyInfo?> VerifyAsync(string key, CancellationToken ct)
    {
        const string select = "SELECT id, name, prefix, hash, created_at AS CreatedAt, revoked_at AS RevokedAt, last_used_at AS LastUsedAt FROM api_keys WHERE prefix = @prefix AND revoked_at IS NULL";
        const string touch = "UPDATE api_keys SET last_used_at = now() WHERE id = @Id AND (last_used_at IS NULL OR last_used_at < now() - @resolution)";
        if (!ApiKeySecret.TryGetPrefix(key, out var prefix)) return null;
        // both statements are safe to repeat, so an attempt that lost its connection between them simply runs again
        var row = await pipeline.RunAsync(dataSource, async c =>
        {
            var found = await c.QuerySingleOrDefaultAsync<StoredKey>(new CommandDefinition(select, new { prefix }, cancellationToken: ct));
            if (found is null || !ApiKeySecret.Matches(key, found.Hash)) return null;
            await c.ExecuteAsync(new CommandDefinition(touch, new { found.Id, resolution = LastUsedResolution }, cancellationToken: ct));
            return found;
        }, ct);
        if (row is null) return null;
        return new ApiKeyInfo { Id = row.Id, Name = row.Name, Prefix = row.Prefix, CreatedAt = row.CreatedAt, LastUsedAt = row.LastUsedAt };
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ValidName();

    private sealed record StoredKey
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string Prefix { get; init; } = "";
        public byte[] Hash { get; init; } = [];
        public DateTime CreatedAt { get; init; }
        public DateTime? RevokedAt { get; init; }
        public DateTime? LastUsedAt { get; init; }
    }
}

/// <summary>What may be shown about a key (never its secret nor its hash).</summary>
public sealed record ApiKeyInfo
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string Prefix { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
}
