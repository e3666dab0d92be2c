using System.Diagnostics.Metrics;
using Dapper;
using KimiAudio.Contracts;
using KimiAudio.ServiceDefaults;
using KimiAudio.ServiceDefaults.Observability;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace KimiAudio.Orchestrator.Metrics;

/// <summary>
/// Observable gauges kimiaudio.jobs{state} (from Postgres) and kimiaudio.queue.messages{queue} (ready messages of the
/// work queue and its error queue, by a passive declare). A background loop refreshes them every JobGauges:RefreshSeconds;
/// the gauges report the cached values, and a source that could not be read reports nothing rather than a stale value.
/// </summary>
public sealed class PipelineGauges : BackgroundService
{
    private static readonly string[] Queues = [ProcessAudioTopology.QueueName, ProcessAudioTopology.ErrorQueueName];

    private readonly NpgsqlDataSource dataSource;
    private readonly RabbitMqOptions rabbit;
    private readonly PipelineGaugeOptions options;
    private readonly ILogger<PipelineGauges> logger;
    private volatile IReadOnlyDictionary<string, long>? jobsByState;
    private volatile IReadOnlyDictionary<string, long>? queueDepths;
    private IConnection? connection;

    public PipelineGauges(
        NpgsqlDataSource dataSource, IOptions<RabbitMqOptions> rabbit, IOptions<PipelineGaugeOptions> options, IMeterFactory meterFactory, ILogger<PipelineGauges> logger)
    {
        this.dataSource = dataSource;
        this.rabbit = rabbit.Value;
        this.options = options.Value;
        this.logger = logger;
        var meter = meterFactory.Create(PipelineTelemetry.OrchestratorName);
        meter.CreateObservableGauge("kimiaudio.jobs", () => Measure(jobsByState, "state"), "{job}", "Jobs by state (all batches)");
        meter.CreateObservableGauge("kimiaudio.queue.messages", () => Measure(queueDepths, "queue"), "{message}",
            "Messages ready in the work queue and its error queue");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.RefreshSeconds));
        do
        {
            jobsByState = await ReadJobsByStateAsync(stoppingToken);
            queueDepths = await ReadQueueDepthsAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (connection is not null) await connection.DisposeAsync();
    }

    private async Task<IReadOnlyDictionary<string, long>?> ReadJobsByStateAsync(CancellationToken ct)
    {
        const string jobsByStateSql = "SELECT state, count(*) AS count FROM jobs GROUP BY state";
        try
        {
            await using var db = await dataSource.OpenConnectionAsync(ct);
            var rows = await db.QueryAsync<(string State, long Count)>(new CommandDefinition(jobsByStateSql, cancellationToken: ct));
            var counts = PipelineState.Job.All.ToDictionary(s => s, _ => 0L); // every state present, so a series never vanishes at 0
            foreach (var (state, count) in rows) counts[state] = count;
            return counts;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested) // a metrics side loop must never stop the service
        {
            logger.LogWarning("Metrics: could not count jobs by state ({Error})", ex.Message);
            return null;
        }
    }

    private async Task<IReadOnlyDictionary<string, long>?> ReadQueueDepthsAsync(CancellationToken ct)
    {
        try
        {
            if (connection is not { IsOpen: true })
            {
                if (connection is not null) await connection.DisposeAsync();
                connection = await new ConnectionFactory { Uri = new Uri(rabbit.Uri), ClientProvidedName = "kimiaudio-metrics" }.CreateConnectionAsync(ct);
            }
            var depths = new Dictionary<string, long>();
            foreach (var queue in Queues)
            {
                // a passive declare of a missing queue closes the channel: one channel per queue
                await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
                try
                {
                    depths[queue] = (await channel.QueueDeclarePassiveAsync(queue, ct)).MessageCount;
                }
                catch (OperationInterruptedException)
                {
                    depths[queue] = 0; // not declared yet: nothing was ever published
                }
            }
            return depths;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Metrics: could not read queue depths ({Error})", ex.Message);
            return null;
        }
    }

    private static IEnumerable<Measurement<long>> Measure(IReadOnlyDictionary<string, long>? values, string label)
        => values?.Select(v => new Measurement<long>(v.Value, new KeyValuePair<string, object?>(label, v.Key))) ?? [];
}

public static class PipelineGaugeRegistration
{
    public static IServiceCollection AddPipelineGauges(this IServiceCollection services)
    {
        services.AddOptions<PipelineGaugeOptions>().BindConfiguration(PipelineGaugeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<PipelineGauges>();
        return services;
    }
}
