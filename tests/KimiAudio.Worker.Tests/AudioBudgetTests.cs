using KimiAudio.Worker.Jobs;

namespace KimiAudio.Worker.Tests;

public sealed class AudioBudgetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_job_waits_while_the_budget_is_full_and_starts_when_a_share_is_given_back()
    {
        using var budget = new AudioBudget(limitSeconds: 2, parallel: 4);
        var first = await budget.AdmitAsync(CancellationToken.None);
        var share = first.Hold(2);
        first.Dispose();
        Assert.Equal(2, budget.HeldSeconds);

        var next = budget.AdmitAsync(CancellationToken.None);
        await Task.Delay(100);
        Assert.False(next.IsCompleted, "admitted although the budget was full");

        share.Dispose();
        share.Dispose(); // a second give-back changes nothing
        using var admitted = await next.WaitAsync(Wait);
        Assert.Equal(0, budget.HeldSeconds);
    }

    [Fact]
    public async Task A_job_longer_than_the_whole_budget_runs_alone()
    {
        using var budget = new AudioBudget(limitSeconds: 1, parallel: 2);
        using (var a = await budget.AdmitAsync(CancellationToken.None))
        {
            using var huge = a.Hold(3600);
            Assert.Equal(3600, budget.PeakHeldSeconds);
            var next = budget.AdmitAsync(CancellationToken.None);
            await Task.Delay(50);
            Assert.False(next.IsCompleted);
            huge.Dispose();
            (await next.WaitAsync(Wait)).Dispose();
        }
    }

    [Fact]
    public async Task Preparations_in_parallel_never_hold_more_than_the_limit_plus_one_input_per_place()
    {
        const double limit = 3;
        const int parallel = 2;
        using var budget = new AudioBudget(limit, parallel);
        var inPreparation = 0;
        var mostInPreparation = 0;
        var jobs = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            IDisposable share;
            using (var admission = await budget.AdmitAsync(CancellationToken.None))
            {
                var now = Interlocked.Increment(ref inPreparation);
                InterlockedMax(ref mostInPreparation, now);
                await Task.Delay(1 + i % 3);
                share = admission.Hold(1);
                Interlocked.Decrement(ref inPreparation);
            }
            await Task.Delay(2 + i % 5); // in the model
            share.Dispose();
        })).ToList();
        await Task.WhenAll(jobs).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(budget.PeakHeldSeconds <= limit + parallel * 1, $"peak {budget.PeakHeldSeconds} s held");
        Assert.True(budget.PeakHeldSeconds >= limit, $"peak {budget.PeakHeldSeconds} s: the budget never filled, the test proves nothing");
        Assert.True(mostInPreparation <= parallel, $"{mostInPreparation} preparations at once");
        Assert.Equal(0, budget.HeldSeconds);
    }

    [Fact]
    public async Task A_cancelled_wait_gives_its_preparation_place_back()
    {
        using var budget = new AudioBudget(limitSeconds: 1, parallel: 1);
        var a = await budget.AdmitAsync(CancellationToken.None);
        var share = a.Hold(1);
        a.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.AdmitAsync(cts.Token));
        share.Dispose();
        (await budget.AdmitAsync(CancellationToken.None).WaitAsync(Wait)).Dispose(); // the only place is free again
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
