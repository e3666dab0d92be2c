using KimiAudio.ServiceDefaults;
using KimiAudio.Worker.Jobs;
using MassTransit;

namespace KimiAudio.Worker.Consumers;

/// <summary>
/// The work queue endpoint: as many messages at once, and prefetched, as the worker holds jobs in flight
/// (Worker:MaxJobsInFlight): every unacknowledged message is a job this worker is downloading, decoding, running or
/// landing, never one merely hoarded. A short immediate retry covers whole-job faults (e.g. Postgres down for longer
/// than the in-step retries). Per-job faults never reach it: the processor records them, and delayed redelivery is
/// scheduled in Postgres so it survives a broker restart.
/// </summary>
public sealed class ProcessAudioConsumerDefinition : ConsumerDefinition<ProcessAudioConsumer>
{
    private readonly int jobsInFlight;

    public ProcessAudioConsumerDefinition(WorkerLimits limits)
    {
        jobsInFlight = limits.JobsInFlight;
        EndpointName = ProcessAudioTopology.QueueName;
        ConcurrentMessageLimit = jobsInFlight;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ProcessAudioConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ProcessAudioTopology.ConfigureWorkQueue(endpointConfigurator);
        endpointConfigurator.PrefetchCount = jobsInFlight;
        endpointConfigurator.UseMessageRetry(r => r.Exponential(3, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)));
    }
}
