using MassTransit;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Sweeper;

/// <summary>
/// Every few seconds: gives back jobs whose worker stopped heartbeating, publishes jobs whose delayed redelivery is
/// due (the delay lives in Postgres, so it survives a broker restart), and completes batches whose jobs are all terminal.
/// </summary>
public sealed class LeaseSweeper(SweepRepository repository, IBus bus, IOptions<SweeperOptions> options, ILogger<LeaseSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.IntervalSeconds));
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Sweep failed; trying again next round");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public async Task SweepOnceAsync(CancellationToken ct)
    {
        var expired = await repository.ExpireLeasesAsync(ct);
        if (expired > 0) logger.LogWarning("Gave back {Count} job(s) whose lease expired", expired);
        int published;
        do
        {
            published = await repository.RepublishDueAsync(options.Value.RepublishBatchSize, batch =>
                Task.WhenAll(batch.Select(m => bus.Publish(m.Message, c =>
                {
                    c.SetPriority(m.Priority);
                    c.MessageId = m.Message.JobId; // as the submitter: copies of a job's message share its id
                }, ct))), ct);
            if (published > 0) logger.LogInformation("Published {Count} job(s) due for (re)delivery", published);
        }
        while (published == options.Value.RepublishBatchSize);
        var completed = await repository.CompleteBatchesAsync(ct);
        if (completed > 0) logger.LogInformation("{Count} batch(es) completed", completed);
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
