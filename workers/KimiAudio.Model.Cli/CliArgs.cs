namespace KimiAudio.Model.Cli;

/// <summary>Minimal `--name value` / `--flag` parser: positional arguments in order, options by name.</summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, string?> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = [];

    public CliArgs(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var a = e.Current;
            if (!a.StartsWith("--", StringComparison.Ordinal)) { Positional.Add(a); continue; }
            var name = a[2..];
            if (flags.Contains(name)) { options[name] = null; continue; }
            if (!e.MoveNext()) throw new CliException($"option --{name} needs a value");
            options[name] = e.Current;
        }
    }

    public bool Flag(string name) { read.Add(name); return options.ContainsKey(name); }

    public string? Get(string name) { read.Add(name); return options.GetValueOrDefault(name); }

    public string Require(string name) => Get(name) ?? throw new CliException($"missing required option --{name}");

    public T Get<T>(string name, T fallback, Func<string, T> parse)
    {
        var v = Get(name);
        if (v is null) return fallback;
        try { return parse(v); }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new CliException($"option --{name}: '{v}' is not a valid value"); }
    }

    /// <summary>Fails on options that no command read (typos must not be ignored silently).</summary>
    public void RejectUnknown()
    {
        var unknown = options.Keys.Where(k => !read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new CliException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

public sealed class CliException(string message) : Exception(message);
