using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using KimiAudio.ServiceDefaults.Observability;
using KimiAudio.Worker.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Telemetry;

/// <summary>
/// kimiaudio.worker.gpu.memory.used{gpu} in bytes, when the engine runs on CUDA (Engine:Device cuda*). TorchSharp 0.107 exposes no CUDA memory
/// statistics (torch.cuda has no memory_allocated), so this reads `nvidia-smi --query-gpu=index,memory.used` every
/// 15 s; it reports the whole device (other processes included). Without nvidia-smi it logs once and reports nothing.
/// </summary>
public sealed class GpuMemorySampler : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private readonly ILogger<GpuMemorySampler> logger;
    private readonly bool onGpu;
    private volatile IReadOnlyList<(string Gpu, long Bytes)> latest = [];

    public GpuMemorySampler(IMeterFactory meterFactory, IOptions<EngineOptions> engine, ILogger<GpuMemorySampler> logger)
    {
        this.logger = logger;
        onGpu = engine.Value.Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase);
        meterFactory.Create(PipelineTelemetry.WorkerName).CreateObservableGauge("kimiaudio.worker.gpu.memory.used",
            () => latest.Select(g => new Measurement<long>(g.Bytes, new KeyValuePair<string, object?>("gpu", g.Gpu))),
            "By", "GPU memory in use on each device (nvidia-smi memory.used)");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!onGpu) return; // on CPU the gauge has no measurements
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                latest = Parse(await QueryAsync(stoppingToken));
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested) // a metrics side loop must never stop the worker
            {
                logger.LogWarning("GPU memory metric disabled: nvidia-smi failed ({Error})", ex.Message);
                latest = [];
                return;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Parses "0, 1234" lines (index, MiB) into bytes per GPU index.</summary>
    public static IReadOnlyList<(string Gpu, long Bytes)> Parse(string csv) => csv
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(line => line.Split(',', StringSplitOptions.TrimEntries))
        .Select(cells => cells.Length == 2
            ? (cells[0], long.Parse(cells[1], CultureInfo.InvariantCulture) * 1024 * 1024)
            : throw new FormatException($"unexpected nvidia-smi line '{string.Join(",", cells)}'"))
        .ToList();

    private static async Task<string> QueryAsync(CancellationToken ct)
    {
        var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=index,memory.used --format=csv,noheader,nounits")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("nvidia-smi did not start");
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"nvidia-smi exited with {process.ExitCode}");
    }
}
