using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.ServiceDefaults;
using KimiAudio.Worker.Jobs;
using MassTransit;

namespace KimiAudio.Worker.Consumers;

/// <summary>
/// Takes a micro-batch of jobs and hands it to <see cref="JobProcessor"/>. Every job's outcome is recorded in Postgres
/// by the processor; a job whose transient failures used up its attempts also leaves its message in the error queue.
/// </summary>
public sealed class ProcessAudioConsumer(JobProcessor processor) : IConsumer<Batch<ProcessAudio>>
{
    public async Task Consume(ConsumeContext<Batch<ProcessAudio>> context)
    {
        var outcomes = await processor.ProcessAsync(context.Message.Select(m => m.Message).ToList(), context.CancellationToken,
            context.Message.Select(m => TraceParent(m)).ToList());
        var exhausted = outcomes.Where(o => o.Kind == JobOutcomeKind.AttemptsExhausted).ToList();
        if (exhausted.Count == 0) return;
        var errorQueue = await context.GetSendEndpoint(new Uri($"queue:{ProcessAudioTopology.ErrorQueueName}"));
        foreach (var outcome in exhausted)
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
