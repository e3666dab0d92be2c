using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.ServiceDefaults;
using KimiAudio.Worker.Jobs;
using MassTransit;

namespace KimiAudio.Worker.Consumers;

/// <summary>
/// One message = one job, handed to <see cref="JobProcessor"/>; the message is acknowledged when the job has its outcome
/// in Postgres. A job whose transient failures used up its attempts also leaves its message in the error queue.
/// </summary>
public sealed class ProcessAudioConsumer(JobProcessor processor) : IConsumer<ProcessAudio>
{
    public async Task Consume(ConsumeContext<ProcessAudio> context)
    {
        var outcome = await processor.ProcessAsync(context.Message, TraceParent(context), context.CancellationToken);
        if (outcome.Kind != JobOutcomeKind.AttemptsExhausted) return;
        var errorQueue = await context.GetSendEndpoint(new Uri($"queue:{ProcessAudioTopology.ErrorQueueName}"));
        await errorQueue.Send(outcome.Message, send =>
        {
            send.Headers.Set(MessageHeaders.Reason, "fault");
            send.Headers.Set(MessageHeaders.FaultMessage, outcome.Error);
        }, context.CancellationToken);
    }

    /// <summary>The span that published the message (MassTransit carries it in a header), so each job joins its own trace.</summary>
    private static ActivityContext TraceParent(ConsumeContext message)
        => message.Headers.Get<string>(MassTransitActivityHeader) is { } id && ActivityContext.TryParse(id, null, out var parent) ? parent : default;

    private const string MassTransitActivityHeader = "MT-Activity-Id";
}
