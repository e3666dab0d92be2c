namespace KimiAudio.Model.Parity;

/// <summary>One compared tensor (or value): its error, the limit it had to meet, and whether it passed.</summary>
public sealed record ParityLine(string Name, double MaxAbsError, double Limit, bool Pass, string? Detail = null)
{
    public override string ToString() =>
        $"{(Pass ? "PASS" : "FAIL")}  {Name,-32} max_err={MaxAbsError:E3}  limit={Limit:E3}{(Detail is null ? "" : "  " + Detail)}";
}

/// <summary>The outcome of one parity case, stage by stage.</summary>
public sealed class ParityReport(string caseName)
{
    private readonly List<ParityLine> lines = [];

    public string CaseName { get; } = caseName;
    public IReadOnlyList<ParityLine> Lines => lines;
    public bool AllPassed => lines.Count > 0 && lines.All(l => l.Pass);

    public void Add(ParityLine line) => lines.Add(line);

    public void Write(TextWriter w)
    {
        w.WriteLine($"case {CaseName}");
        foreach (var l in lines) w.WriteLine("  " + l);
        w.WriteLine($"{(AllPassed ? "PASS" : "FAIL")}: {lines.Count(l => l.Pass)}/{lines.Count} checks passed");
    }
}
