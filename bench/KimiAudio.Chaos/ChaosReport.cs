namespace KimiAudio.Chaos;

/// <summary>The soak's verdict: one table of the history, and the reasons it failed (none: passed).</summary>
public sealed class ChaosReport
{
    public List<(string Name, string Value)> Rows { get; } = [];
    public List<string> Failures { get; } = [];
    public bool Passed => Failures.Count == 0;

    public void Add(string name, object value) => Rows.Add((name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""));

    /// <summary>A row that must be zero to pass.</summary>
    public void MustBeZero(string name, long value)
    {
        Add(name, value);
        if (value != 0) Failures.Add($"{name}: {value}");
    }

    public void Require(bool condition, string failure)
    {
        if (!condition) Failures.Add(failure);
    }

    public string ToTable()
    {
        var width = Math.Max(10, Rows.Max(r => r.Name.Length));
        var valueWidth = Math.Max(10, Rows.Max(r => r.Value.Length));
        var lines = new List<string>
        {
            $"| {"check".PadRight(width)} | {"value".PadRight(valueWidth)} |",
            $"|{new string('-', width + 2)}|{new string('-', valueWidth + 2)}|",
        };
        lines.AddRange(Rows.Select(r => $"| {r.Name.PadRight(width)} | {r.Value.PadRight(valueWidth)} |"));
        lines.Add(Passed ? "PASS" : "FAIL: " + string.Join("; ", Failures));
        return string.Join(Environment.NewLine, lines);
    }
}
