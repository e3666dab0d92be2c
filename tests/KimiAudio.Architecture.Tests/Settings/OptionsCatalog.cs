using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using KimiAudio.Configuration;

namespace KimiAudio.Architecture.Tests.Settings;

/// <summary>
/// The options classes of the apps, found by reflection (every type with a <c>public const string SectionName</c>), and
/// the rule that decides whether an environment variable sets something real.
/// </summary>
public sealed class OptionsCatalog
{
    /// <summary>Variables of .NET, ASP.NET Core and OpenTelemetry that their own libraries read (documented standard names).</summary>
    public static readonly string[] StandardPrefixes = ["DOTNET_", "ASPNETCORE_", "OTEL_"];

    /// <summary>Configuration sections owned by Microsoft.Extensions libraries (Logging:Console:FormatterName, ...).</summary>
    public static readonly string[] StandardSections = ["Logging"];

    private readonly Dictionary<string, Type> bySection = new(StringComparer.OrdinalIgnoreCase);

    public OptionsCatalog(IEnumerable<Type> optionsTypes)
    {
        foreach (var t in optionsTypes)
        {
            var section = SectionOf(t) ?? throw new ArgumentException($"{t.FullName} has no SectionName constant");
            if (bySection.TryGetValue(section, out var other) && other != t)
                throw new InvalidOperationException($"section '{section}' is bound by both {other.FullName} and {t.FullName}");
            bySection[section] = t;
        }
    }

    /// <summary>Every options type declared in <paramref name="assemblies"/>.</summary>
    public static OptionsCatalog Of(params Assembly[] assemblies) =>
        new(assemblies.SelectMany(a => a.GetTypes()).Where(t => t.IsClass && !t.IsAbstract && SectionOf(t) is not null));

    public IReadOnlyCollection<Type> Types => bySection.Values;

    public static string? SectionOf(Type t) =>
        t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } f && f.FieldType == typeof(string)
            ? (string?)f.GetRawConstantValue()
            : null;

    /// <summary>Null when the environment variable <paramref name="variable"/> binds to an options property or is a standard one; else why not.</summary>
    public string? Problem(string variable)
    {
        if (StandardPrefixes.Any(p => variable.StartsWith(p, StringComparison.Ordinal))) return null;
        var key = WellKnownEnvironment.KeyOf(variable);
        var parts = key.Split(':');
        if (StandardSections.Contains(parts[0], StringComparer.OrdinalIgnoreCase)) return null;
        if (parts.Length < 2 || parts.Any(p => p.Length == 0))
            return $"'{variable}' is neither Section__Key, a mapped variable ({string.Join(", ", WellKnownEnvironment.Variables.Select(v => v.Variable))}) nor a standard one";
        if (!bySection.TryGetValue(parts[0], out var type))
            return $"no options class has section '{parts[0]}' (sections: {string.Join(", ", bySection.Keys.Order(StringComparer.Ordinal))})";
        for (int i = 1; i < parts.Length; i++)
        {
            var p = type.GetProperty(parts[i], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (p is null || p.GetIndexParameters().Length > 0)
                return $"{type.Name} has no property '{parts[i]}' (it has {string.Join(", ", type.GetProperties().Select(x => x.Name))})";
            var last = i == parts.Length - 1;
            if (IsScalar(p.PropertyType))
            {
                if (!last) return $"{type.Name}.{p.Name} is a value, it has no '{parts[i + 1]}'";
                if (p.SetMethod is not { IsPublic: true }) return $"{type.Name}.{p.Name} cannot be set";
                return null;
            }
            if (typeof(IEnumerable).IsAssignableFrom(p.PropertyType)) return last ? $"{type.Name}.{p.Name} is a collection: set its items" : null;
            if (last) return $"{type.Name}.{p.Name} is an object: set its properties";
            type = p.PropertyType;
        }
        return null;
    }

    /// <summary>The keys ("Section:Property") of the [Required] properties that have no usable default: a deployment must set them.</summary>
    public IEnumerable<string> RequiredWithoutDefault()
    {
        foreach (var (section, type) in bySection)
        {
            var defaults = Activator.CreateInstance(type);
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                if (p.GetCustomAttribute<RequiredAttribute>() is not null && p.GetValue(defaults) is null or "" )
                    yield return $"{section}:{p.Name}";
        }
    }

    private static bool IsScalar(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(DateTime)
            || t == typeof(DateTimeOffset) || t == typeof(Guid) || t == typeof(Uri);
    }
}
