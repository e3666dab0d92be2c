using System.Diagnostics;

namespace KimiAudio.Chaos;

/// <summary>
/// One service process of the soak (a worker or the orchestrator) under a small supervisor: SIGKILLed on purpose and
/// started again after a delay; one that exits by itself is started again at once and counted as an unplanned exit.
/// </summary>
public sealed class ManagedProcess(string name, string dll, IReadOnlyList<string> args, string logPath)
{
    private readonly Lock gate = new();
    private Process? current;
    private DateTime restartNotBefore = DateTime.MaxValue;
    private bool killedOnPurpose;
    private bool stopped;

    public string Name { get; } = name;
    public int Starts { get; private set; }
    public int Kills { get; private set; }
    public int UnplannedExits { get; private set; }

    public bool IsRunning
    {
        get { lock (gate) return current is { HasExited: false }; }
    }

    public void Start()
    {
        lock (gate)
        {
            // sh execs dotnet: the PID is the service's own, so a kill is a real SIGKILL of it; output goes to the log
            var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("exec dotnet \"$@\" >>\"$KIMIA_CHAOS_LOG\" 2>&1");
            info.ArgumentList.Add("sh");
            info.ArgumentList.Add(dll);
            foreach (var a in args) info.ArgumentList.Add(a);
            info.Environment["KIMIA_CHAOS_LOG"] = logPath;
            File.AppendAllText(logPath, $"===== {DateTime.UtcNow:O} start #{Starts + 1} of {Name}\n");
            current = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Name}");
            Starts++;
            killedOnPurpose = false;
            restartNotBefore = DateTime.MaxValue;
        }
    }

    /// <summary>SIGKILL now; started again after <paramref name="restartAfter"/>.</summary>
    public void Kill(TimeSpan restartAfter)
    {
        lock (gate)
        {
            if (current is { HasExited: false } p)
            {
                p.Kill();
                p.WaitForExit(5000);
                Kills++;
            }
            killedOnPurpose = true;
            restartNotBefore = DateTime.UtcNow + restartAfter;
        }
    }

    /// <summary>Called every few hundred ms: restarts what is down and due.</summary>
    public void Tick()
    {
        lock (gate)
        {
            if (stopped || current is not { HasExited: true }) return;
            if (!killedOnPurpose)
            {
                UnplannedExits++;
                File.AppendAllText(logPath, $"===== {DateTime.UtcNow:O} {Name} exited by itself (code {current.ExitCode})\n");
                killedOnPurpose = true;
                restartNotBefore = DateTime.UtcNow.AddSeconds(1);
            }
            if (DateTime.UtcNow >= restartNotBefore) Start();
        }
    }

    public void Stop()
    {
        lock (gate)
        {
            stopped = true;
            if (current is { HasExited: false } p)
            {
                p.Kill();
                p.WaitForExit(5000);
            }
        }
    }
}
