using System.Diagnostics;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// Runs the real `kimia` CLI as a separate process, from its own build output (built first through the project
/// reference): beside the tests it would resolve its dependencies against the tests' ASP.NET Core framework.
/// </summary>
public static class KimiaCli
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    private static readonly Lazy<string> CliPath = new(() =>
    {
        // tests/KimiAudio.Pipeline.Tests/bin/<configuration>/net10.0/linux-x64/ -> orchestrator/KimiAudio.Cli/bin/<same>/
        var root = ServiceSettings.RepositoryRoot();
        var testProject = Path.Combine(root, "tests", "KimiAudio.Pipeline.Tests");
        var outputTail = Path.GetRelativePath(testProject, AppContext.BaseDirectory);
        var path = Path.Combine(root, "orchestrator", "KimiAudio.Cli", outputTail, "kimia.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"the kimia CLI is not built at {path}");
    });

    public static async Task<Outcome> RunAsync(IDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.ArgumentList.Add(CliPath.Value);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start kimia");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Outcome(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
