using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace KimiAudio.Infrastructure.Auth;

/// <summary>API keys in Postgres: created, listed and revoked by the CLI, verified by the orchestrator on every request.</summary>
public sealed partial class ApiKeyStore(NpgsqlDataSource dataSource)
{
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
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            var info = await connection.QuerySingleAsync<ApiKeyInfo>(new CommandDefinition(sql, new { name, prefix, hash }, cancellationToken: ct));
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
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return (await connection.QueryAsync<ApiKeyInfo>(new CommandDefinition(sql, cancellationToken: ct))).ToList();
    }

    /// <summary>Revokes the key with this id (all digits) or the active key with this name; false when there is none.</summary>
    public async Task<bool> RevokeAsync(string idOrName, CancellationToken ct)
    {
        const string byId = "UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL";
        const string byName = "UPDATE api_keys SET revoked_at = now() WHERE name = @idOrName AND revoked_at IS NULL";
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var changed = long.TryParse(idOrName, out var id)
            ? await connection.ExecuteAsync(new CommandDefinition(byId, new { id }, cancellationToken: ct))
            : await connection.ExecuteAsync(new CommandDefinition(byName, new { idOrName }, cancellationToken: ct));
        return changed > 0;
    }

    /// <summary>The active key that this text is, or null (malformed, unknown, wrong secret or revoked).</summary>
    public async Task<ApiKeyInfo?> VerifyAsync(string key, CancellationToken ct)
    {
        const string select = "SELECT id, name, prefix, hash, created_at AS CreatedAt, revoked_at AS RevokedAt, last_used_at AS LastUsedAt FROM api_keys WHERE prefix = @prefix AND revoked_at IS NULL";
        const string touch = "UPDATE api_keys SET last_used_at = now() WHERE id = @Id AND (last_used_at IS NULL OR last_used_at < now() - @resolution)";
        if (!ApiKeySecret.TryGetPrefix(key, out var prefix)) return null;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<StoredKey>(new CommandDefinition(select, new { prefix }, cancellationToken: ct));
        if (row is null || !ApiKeySecret.Matches(key, row.Hash)) return null;
        await connection.ExecuteAsync(new CommandDefinition(touch, new { row.Id, resolution = LastUsedResolution }, cancellationToken: ct));
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
