using KimiAudio.Migrator;

// kimia-migrate [migrate|list] [--connection <npgsql connection string>]
// The connection string defaults to Database:ConnectionString as the services read it ($Database__ConnectionString or $POSTGRES_CONNECTION).
var command = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "migrate";
var connectionIndex = Array.IndexOf(args, "--connection");
var connectionString = DatabaseMigrator.ConnectionString(connectionIndex >= 0 && connectionIndex + 1 < args.Length ? args[connectionIndex + 1] : null);

switch (command)
{
    case "list":
        foreach (var script in DatabaseMigrator.Scripts()) Console.WriteLine(script.Name);
        return 0;
    case "migrate":
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Console.Error.WriteLine(DatabaseMigrator.NoConnectionString + ".");
            return 1;
        }
        try
        {
            var result = DatabaseMigrator.Migrate(connectionString, Console.Out);
            if (result.Successful)
            {
                Console.WriteLine($"Database is migrated ({result.Scripts.Count()} script(s) applied this run).");
                return 0;
            }
            Console.Error.WriteLine($"Migration failed at {result.ErrorScript?.Name}: {result.Error?.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or ArgumentException)
        {
            Console.Error.WriteLine($"Migration failed: {ex.Message}");
            return 1;
        }
    default:
        Console.Error.WriteLine($"Unknown command '{command}'. Usage: KimiAudio.Migrator [migrate|list] [--connection <connection string>]");
        return 1;
}
