namespace KimiAudio.Architecture.Tests;

/// <summary>The repository checkout the tests run from (the folder holding KimiAudio.Pipeline.sln).</summary>
public static class Repo
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "KimiAudio.Pipeline.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no KimiAudio.Pipeline.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>A throw-away copy of infra/ (without node_modules) to break on purpose.</summary>
public sealed class TempInfra : IDisposable
{
    private TempInfra(string root) => Root = root;

    public string Root { get; }

    public static TempInfra Copy()
    {
        var root = Directory.CreateTempSubdirectory("kimia-infra-").FullName;
        var source = Repo.Path("infra");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var rel = System.IO.Path.GetRelativePath(source, file);
            if (rel.Split(System.IO.Path.DirectorySeparatorChar).Contains("node_modules")) continue;
            var target = System.IO.Path.Combine(root, rel);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return new TempInfra(root);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
