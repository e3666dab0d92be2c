using KimiAudio.ServiceDefaults;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;
using MassTransit;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Consumers;

/// <summary>
/// The work queue endpoint: micro-batches sized to the engine, prefetch exactly what the batches in progress take, and a short immediate retry
/// for whole-batch faults (e.g. Postgres down for longer than the in-step retries). Per-job faults never reach it:
/// the processor records them, and delayed redelivery is scheduled in Postgres so it survives a broker restart.
/// </summary>
public sealed class ProcessAudioConsumerDefinition : ConsumerDefinition<ProcessAudioConsumer>
{
    private readonly int batchSize;
    private readonly WorkerOptions options;

    public ProcessAudioConsumerDefinition(IOptions<WorkerOptions> workerOptions, IInferenceEngine engine)
    {
        options = workerOptions.Value;
        batchSize = options.BatchSize > 0 ? options.BatchSize : Math.Max(1, engine.MaxBatchSize);
        EndpointName = ProcessAudioTopology.QueueName;
        ConcurrentMessageLimit = batchSize * options.ConcurrentBatches;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ProcessAudioConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ProcessAudioTopology.ConfigureWorkQueue(endpointConfigurator);
        // no look-ahead: a worker whose model call hangs must not sit on messages other workers could take
        endpointConfigurator.PrefetchCount = batchSize * options.ConcurrentBatches;
        endpointConfigurator.UseMessageRetry(r => r.Exponential(3, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)));
        consumerConfigurator.Options<BatchOptions>(b => b
            .SetMessageLimit(batchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(options.BatchTimeLimitMs))
            .SetConcurrencyLimit(options.ConcurrentBatches));
    }
}
