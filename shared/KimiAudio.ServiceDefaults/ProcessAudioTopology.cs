using KimiAudio.Contracts;
using MassTransit;

namespace KimiAudio.ServiceDefaults;

/// <summary>
/// The work queue. Publishers bind it too, so a batch published before any worker has started is kept, and both sides
/// declare it with the same arguments (a priority queue: RabbitMQ rejects a re-declaration with different arguments).
/// </summary>
public static class ProcessAudioTopology
{
    public const string QueueName = "process-audio";
    public const string ErrorQueueName = QueueName + "_error";
    public const byte MaxPriority = 9;

    /// <summary>MassTransit's exchange for the message type (its full name: renaming the namespace breaks routing).</summary>
    public static readonly string MessageExchange = $"{typeof(ProcessAudio).Namespace}:{nameof(ProcessAudio)}";

    /// <summary>
    /// Used by every bus that publishes <see cref="ProcessAudio"/>: binds the work queue straight to the message exchange.
    /// The worker's endpoint adds its own route (message exchange → endpoint exchange → queue); RabbitMQ delivers a
    /// message once per queue however many bindings lead there.
    /// </summary>
    public static void BindWorkQueue(IRabbitMqBusFactoryConfigurator cfg)
        => cfg.Publish<ProcessAudio>(p => p.BindQueue(MessageExchange, QueueName, q => q.EnablePriority(MaxPriority)));

    /// <summary>Used by the worker's receive endpoint.</summary>
    public static void ConfigureWorkQueue(IReceiveEndpointConfigurator endpoint)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit) rabbit.EnablePriority(MaxPriority);
    }
}
