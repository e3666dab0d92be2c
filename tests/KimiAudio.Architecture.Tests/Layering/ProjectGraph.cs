using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace KimiAudio.Architecture.Tests.Layering;

/// <summary>
/// The projects of KimiAudio.Pipeline.sln, their project references (from the .csproj files) and, per project, every
/// package it reaches directly or transitively (from its restore graph, obj/project.assets.json).
/// </summary>
public sealed partial class ProjectGraph
{
    /// <summary>Project name → names of the projects it references directly.</summary>
    public Dictionary<string, List<string>> References { get; } = new(StringComparer.Ordinal);

    /// <summary>Project name → its FrameworkReferences (Microsoft.AspNetCore.App, ...).</summary>
    public Dictionary<string, List<string>> Frameworks { get; } = new(StringComparer.Ordinal);

    /// <summary>Project name → every package of its restore graph (null: not restored).</summary>
    public Dictionary<string, HashSet<string>?> Packages { get; } = new(StringComparer.Ordinal);

    public static ProjectGraph Load(string repoRoot)
    {
        var g = new ProjectGraph();
        var sln = File.ReadAllText(Path.Combine(repoRoot, "KimiAudio.Pipeline.sln"));
        foreach (Match m in SlnProject().Matches(sln))
        {
            var path = Path.GetFullPath(Path.Combine(repoRoot, m.Groups[1].Value.Replace('\\', Path.DirectorySeparatorChar)));
            var name = Path.GetFileNameWithoutExtension(path);
            var xml = XDocument.Load(path);
            g.References[name] = xml.Descendants("ProjectReference")
                .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/'))).ToList();
            g.Frameworks[name] = xml.Descendants("FrameworkReference").Select(e => e.Attribute("Include")!.Value).ToList();
            var assets = Path.Combine(Path.GetDirectoryName(path)!, "obj", "project.assets.json");
            g.Packages[name] = File.Exists(assets) ? ReadPackages(assets) : null;
        }
        return g;
    }

    private static HashSet<string> ReadPackages(string assetsPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(assetsPath));
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var lib in doc.RootElement.GetProperty("libraries").EnumerateObject())
            if (lib.Value.GetProperty("type").GetString() == "package") names.Add(lib.Name.Split('/')[0]);
        return names;
    }

    /// <summary>The projects <paramref name="project"/> reaches through project references (itself excluded).</summary>
    public HashSet<string> Reach(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(References.GetValueOrDefault(project) ?? []);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (seen.Add(p)) foreach (var r in References.GetValueOrDefault(p) ?? []) stack.Push(r);
        }
        return seen;
    }

    /// <summary>Every cycle of project references, as "A -> B -> A".</summary>
    public List<string> Cycles()
    {
        var cycles = new List<string>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the path, 2 = done
        var path = new List<string>();
        void Visit(string p)
        {
            state[p] = 1;
            path.Add(p);
            foreach (var r in References.GetValueOrDefault(p) ?? [])
            {
                if (state.GetValueOrDefault(r) == 1) cycles.Add(string.Join(" -> ", path.SkipWhile(x => x != r).Append(r)));
                else if (state.GetValueOrDefault(r) == 0) Visit(r);
            }
            path.RemoveAt(path.Count - 1);
            state[p] = 2;
        }
        foreach (var p in References.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(p) == 0) Visit(p);
        return cycles;
    }

    /// <summary>
    /// What <paramref name="project"/> must not reach but does: packages whose id starts with one of
    /// <paramref name="packagePrefixes"/>, the listed projects, and the listed framework references.
    /// </summary>
    public List<string> Forbidden(string project, IEnumerable<string> packagePrefixes, IEnumerable<string>? projects = null, IEnumerable<string>? frameworks = null)
    {
        var problems = new List<string>();
        var reach = Reach(project);
        var packages = Packages.GetValueOrDefault(project)
            ?? throw new InvalidOperationException($"{project} is not restored (no obj/project.assets.json): build it first");
        foreach (var prefix in packagePrefixes)
            foreach (var p in packages.Where(p => p.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
                problems.Add($"{project} reaches package {p}");
        foreach (var p in projects ?? [])
            if (reach.Contains(p)) problems.Add($"{project} reaches project {p}");
        foreach (var f in frameworks ?? [])
            foreach (var q in reach.Append(project).Where(q => Frameworks.GetValueOrDefault(q)?.Contains(f, StringComparer.Ordinal) == true))
                problems.Add($"{project} reaches framework {f} (through {q})");
        return problems;
    }

    [GeneratedRegex(@"""([^""]+\.csproj)""")]
    private static partial Regex SlnProject();
}
