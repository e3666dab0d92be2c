using System.CommandLine;
using System.Globalization;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Migrator;
using Npgsql;

namespace KimiAudio.Cli;

/// <summary>`kimia keys create|list|revoke`: API keys, managed straight in Postgres (the orchestrator only verifies them).</summary>
public static class KeyCommands
{
    public static Command Create()
    {
        var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string (default $Database__ConnectionString or $POSTGRES_CONNECTION)", Recursive = true };
        var keys = new Command("keys", "Create, list and revoke the API keys of the orchestrator's HTTP API") { connection };

        var name = new Argument<string>("name") { Description = "what the key is for, e.g. ci or alice (letters, digits, . _ -; starts with a letter)" };
        var create = new Command("create", "Create a key and print it (once: only its hash is stored)") { name };
        create.SetAction((parse, ct) => RunAsync(parse.GetValue(connection), async store =>
        {
            var (info, key) = await store.CreateAsync(parse.GetValue(name)!, ct);
            Console.WriteLine(key);
            Console.Error.WriteLine($"created key {info.Id} '{info.Name}' (prefix {info.Prefix}); it is shown only now: keep it safe");
        }));
        keys.Subcommands.Add(create);

        var list = new Command("list", "List the keys (id, name, prefix, dates; never the secret)");
        list.SetAction((parse, ct) => RunAsync(parse.GetValue(connection), async store =>
        {
            var rows = (await store.ListAsync(ct)).Select(k => new[]
            {
                k.Id.ToString(CultureInfo.InvariantCulture), k.Name, k.Prefix, Time(k.CreatedAt), Time(k.LastUsedAt),
                k.RevokedAt is null ? "active" : "revoked " + Time(k.RevokedAt),
            }).ToList();
            Views.WriteTable(Console.Out, ["id", "name", "prefix", "created", "last used", "state"], rows);
        }));
        keys.Subcommands.Add(list);

        var idOrName = new Argument<string>("id-or-name") { Description = "the key's id (from `keys list`) or the name of an active key" };
        var revoke = new Command("revoke", "Revoke a key: requests with it are refused from now on") { idOrName };
        revoke.SetAction((parse, ct) => RunAsync(parse.GetValue(connection), async store =>
        {
            var target = parse.GetValue(idOrName)!;
            if (!await store.RevokeAsync(target, ct)) throw new CliException($"no active key with id or name '{target}' (see `kimia keys list`)");
            Console.Error.WriteLine($"revoked key '{target}'");
        }));
        keys.Subcommands.Add(revoke);
        return keys;
    }

    private static string Time(DateTime? t) => t?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";

    private static Task<int> RunAsync(string? connectionString, Func<ApiKeyStore, Task> action) => CliAction.RunAsync(async () =>
    {
        var cs = DatabaseMigrator.ConnectionString(connectionString) ?? throw new CliException(DatabaseMigrator.NoConnectionString);
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await action(new ApiKeyStore(dataSource));
    });
}
