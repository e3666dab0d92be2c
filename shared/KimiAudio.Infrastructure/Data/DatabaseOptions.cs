using System.ComponentModel.DataAnnotations;

namespace KimiAudio.Infrastructure.Data;

/// <summary>PostgreSQL connection. Bound from section "Database" (POSTGRES_CONNECTION is mapped onto it).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    [Required] public string ConnectionString { get; set; } = "";
}
