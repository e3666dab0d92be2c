using System.Text.RegularExpressions;
using KimiAudio.Contracts;

namespace KimiAudio.Architecture.Tests;

/// <summary>Job and batch state names live in <see cref="PipelineState"/> and in the schema's CHECK constraints, nowhere else.</summary>
public sealed partial class StateNamesTests
{
    [Fact]
    public void The_state_type_lists_exactly_the_states_the_schema_allows()
    {
        var schema = File.ReadAllText(Repo.Path("migrations", "0001_pipeline_schema.sql"));
        var checks = CheckList().Matches(schema).Select(m => Quoted().Matches(m.Groups[1].Value).Select(q => q.Groups[1].Value).ToArray()).ToList();
        Assert.Equal(2, checks.Count);
        Assert.Equal(PipelineState.Batch.All, checks[0]);
        Assert.Equal(PipelineState.Job.All, checks[1]);
        Assert.Equal(PipelineState.Job.All.Order(), PipelineState.Job.Terminal.Concat(PipelineState.Job.Open).Order());
    }

    [Fact]
    public void No_csharp_file_spells_a_state_in_sql_itself()
    {
        var names = PipelineState.Job.All.Concat(PipelineState.Batch.All).Distinct().ToArray();
        var literal = new Regex($"'({string.Join('|', names)})'");
        var offenders = new List<string>();
        foreach (var root in new[] { "orchestrator", "shared", "workers", "migrations" })
            foreach (var file in Directory.EnumerateFiles(Repo.Path(root), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                var n = 0;
                foreach (var line in File.ReadLines(file))
                {
                    n++;
                    if (line.TrimStart().StartsWith("//", StringComparison.Ordinal)) continue;
                    if (literal.IsMatch(line)) offenders.Add($"{Path.GetRelativePath(Repo.Root, file)}:{n}: {line.Trim()}");
                }
            }
        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"CHECK \(state IN \(([^)]*)\)\)")]
    private static partial Regex CheckList();

    [GeneratedRegex("'([a-z_]+)'")]
    private static partial Regex Quoted();
}
