using System.ComponentModel;
using System.Diagnostics;

namespace KimiAudio.Audio.Tests;

/// <summary>Runs sox / ffmpeg / espeak-ng (installed by infra/services.sh install). A missing tool fails the test.</summary>
public static class ExternalTools
{
    public static void Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"{tool} is not installed; run infra/services.sh install ({ex.Message})", ex);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish in 120 s");
            }
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
            }
        }
    }

    public static void Ffmpeg(string input, string output, params string[] outputArgs) =>
        Run("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", input, .. outputArgs, output]);

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KimiAudio.Pipeline.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root (KimiAudio.Pipeline.sln) not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("kimia-audio-tests-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
