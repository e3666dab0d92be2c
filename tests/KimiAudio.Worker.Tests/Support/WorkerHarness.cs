using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;
using KimiAudio.Worker.TestHost;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Tests.Support;

/// <summary>
/// The worker's job pieces and its consumer on MassTransit's in-memory test harness, over an in-memory object store
/// and job store and the deterministic engine. Settings are the worker's own configuration keys.
/// </summary>
public sealed class WorkerHarness : IAsyncDisposable
{
    public const string Bucket = "in";
    private readonly IHost host;

    private WorkerHarness(IHost host, DeterministicEngine engine, InMemoryObjectStore objects, InMemoryJobStore jobs)
    {
        this.host = host;
        Engine = engine;
        Objects = objects;
        Jobs = jobs;
    }

    public InMemoryObjectStore Objects { get; }
    public InMemoryJobStore Jobs { get; }
    public DeterministicEngine Engine { get; }
    public ITestHarness Harness => host.Services.GetTestHarness();
    public AudioBudget Budget => host.Services.GetRequiredService<AudioBudget>();
    public IServiceProvider Services => host.Services;

    public static async Task<WorkerHarness> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Worker:LeaseSeconds"] = "10",
            ["Segmentation:Mode"] = "Fixed", // the fixed 30 s cut: these tests are about the job's life, not where it is cut
            ["Worker:RedeliveryBaseDelaySeconds"] = "1",
            ["TestEngine:MaxBatchSize"] = "4",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) all[k] = v;
        var config = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        var engine = new DeterministicEngine(Options.Create(config.GetSection(DeterministicEngineOptions.SectionName).Get<DeterministicEngineOptions>() ?? new()));

        var objects = new InMemoryObjectStore();
        var jobs = new InMemoryJobStore();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddConfiguration(config);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IObjectStore>(objects);
        builder.Services.AddSingleton<IJobStore>(jobs);
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.Services.AddWorkerJobs();
        builder.Services.AddMassTransitTestHarness(x => x.AddWorkerConsumer());
        var host = builder.Build();
        await host.StartAsync();
        return new WorkerHarness(host, engine, objects, jobs);
    }

    /// <summary>Uploads a tone of <paramref name="seconds"/> and registers its job as queued; returns the message to publish.</summary>
    public async Task<ProcessAudio> AddJobAsync(string key, double seconds, string? prompt = null, string task = "asr", string outputType = "text", int maxAttempts = 5, byte[]? bytes = null)
    {
        bytes ??= WavWriter.Pcm16Mono(Tone(seconds), AudioDecoder.ModelSampleRate);
        await Objects.PutAsync(Bucket, key, bytes, "audio/wav", CancellationToken.None);
        var message = new ProcessAudio
        {
            JobId = Guid.NewGuid(),
            BatchId = BatchId,
            Input = new ObjectRef { Bucket = Bucket, Key = key, Size = bytes.Length },
            Task = task,
            Prompt = prompt,
            OutputType = outputType,
            Sampling = new SamplingOptions(),
            OptionsHash = "test",
        };
        Jobs.Add(message.JobId, maxAttempts);
        return message;
    }

    public Guid BatchId { get; } = Guid.NewGuid();

    public Task PublishAsync(params ProcessAudio[] messages) => Task.WhenAll(messages.Select(m => Harness.Bus.Publish(m)));

    /// <summary>Waits until every job is in a terminal state (or queued again for a retry).</summary>
    public async Task WaitForAsync(IEnumerable<ProcessAudio> messages, Func<string, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var ids = messages.Select(m => m.JobId).ToList();
        while (!ids.All(id => done(Jobs.StateOf(id))))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("jobs not done: " + string.Join(", ", ids.Select(id => $"{id}={Jobs.StateOf(id)}")));
            await Task.Delay(10);
        }
    }

    public static bool Terminal(string state) => state is "succeeded" or "failed";

    public static float[] Tone(double seconds)
    {
        var samples = new float[(int)(seconds * AudioDecoder.ModelSampleRate)];
        for (var i = 0; i < samples.Length; i++) samples[i] = 0.3f * MathF.Sin(2 * MathF.PI * 440 * i / AudioDecoder.ModelSampleRate);
        return samples;
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
        Engine.Dispose();
    }
}
