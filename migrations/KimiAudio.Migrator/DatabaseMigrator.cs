using System.Reflection;
using DbUp;
using DbUp.Engine;
using DbUp.Engine.Output;
using KimiAudio.Configuration;
using KimiAudio.Infrastructure.Data;

namespace KimiAudio.Migrator;

/// <summary>Applies the numbered SQL scripts of migrations/ in order and records each in the journal table.</summary>
public static class DatabaseMigrator
{
    /// <summary>Journal table (schema public) that records the applied scripts by file name.</summary>
    public const string JournalTable = "schemaversions";

    /// <summary>
    /// The connection string of the migrator and of `kimia migrate` / `kimia keys`: <paramref name="given"/> (--connection)
    /// when set, else Database:ConnectionString exactly as the services read it (Database__ConnectionString, or
    /// POSTGRES_CONNECTION through <see cref="WellKnownEnvironment"/>); null when none is set.
    /// </summary>
    public static string? ConnectionString(string? given) =>
        given is { Length: > 0 } ? given : WellKnownEnvironment.Build()[DatabaseOptions.ConnectionStringKey] is { Length: > 0 } cs ? cs : null;

    /// <summary>The error when <see cref="ConnectionString"/> found none.</summary>
    public static string NoConnectionString =>
        $"no connection string: pass --connection or set {WellKnownEnvironment.Spellings(DatabaseOptions.ConnectionStringKey)}";

    /// <summary>The embedded scripts, ordered by their numbered file names.</summary>
    public static IReadOnlyList<SqlScript> Scripts()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => new SqlScript(FileName(n), Read(assembly, n)))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Creates the database when missing, then applies every script not yet in the journal.</summary>
    public static DatabaseUpgradeResult Migrate(string connectionString, TextWriter log)
    {
        var upgradeLog = new TextWriterLog(log);
        EnsureDatabase.For.PostgresqlDatabase(connectionString, upgradeLog);
        var engine = DeployChanges.To
            .PostgresqlDatabase(connectionString)
            .WithScripts(Scripts())
            .JournalToPostgresqlTable("public", JournalTable)
            .WithTransactionPerScript()
            .LogTo(upgradeLog)
            .Build();
        return engine.PerformUpgrade();
    }

    private static string FileName(string resourceName)
    {
        // "KimiAudio.Migrator.Scripts.0001_pipeline_schema.sql" -> "0001_pipeline_schema.sql"
        var withoutExtension = resourceName[..^".sql".Length];
        return withoutExtension[(withoutExtension.LastIndexOf('.') + 1)..] + ".sql";
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded script {name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private sealed class TextWriterLog(TextWriter writer) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) { }
        public void LogDebug(string format, params object[] args) { }
        public void LogInformation(string format, params object[] args) => writer.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogWarning(string format, params object[] args) => writer.WriteLine("warning: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogError(string format, params object[] args) => writer.WriteLine("error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogError(Exception ex, string format, params object[] args) => writer.WriteLine("error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args) + Environment.NewLine + ex.Message);
    }
}
