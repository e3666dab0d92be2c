using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Infrastructure.Data;

/// <summary>PostgreSQL connection. Bound from section "Database" (POSTGRES_CONNECTION is mapped onto it).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary>The configuration key of <see cref="ConnectionString"/> ("Database__ConnectionString" in the environment).</summary>
    public const string ConnectionStringKey = SectionName + ":" + nameof(ConnectionString);

    [Required] public string ConnectionString { get; set; } = "";
}
