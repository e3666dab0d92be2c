using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>The orchestrator as its own OS process (so it can be SIGKILLed), on the test's services and a free port.</summary>
public sealed class OrchestratorProcess : IAsyncDisposable
{
    public Process Process { get; }
    public HttpClient Api { get; }

    private OrchestratorProcess(Process process, HttpClient api)
    {
        Process = process;
        Api = api;
    }

    public static async Task<OrchestratorProcess> StartAsync(TestPipeline p, IDictionary<string, string?>? extra = null)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var settings = p.BaseSettings();
        settings["urls"] = $"http://127.0.0.1:{port}";
        if (extra is not null) foreach (var (k, v) in extra) settings[k] = v;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "KimiAudio.Orchestrator.dll"));
        foreach (var (k, v) in settings) if (v is not null) info.ArgumentList.Add($"--{k}={v}");
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the orchestrator process");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (p.Output) p.Output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (p.Output) p.Output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", p.ApiKey);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, "the orchestrator process exited during start:\n" + p.Output);
            try
            {
                if ((await api.GetAsync("/health/ready")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), "the orchestrator process did not become ready:\n" + p.Output);
            await Task.Delay(200);
        }
        return new OrchestratorProcess(process, api);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited) Process.Kill();
        await Process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Process.Dispose();
        Api.Dispose();
    }
}
