namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>The invariants every pipeline test checks: nothing lost, nothing duplicated.</summary>
public static class PipelineAssert
{
    /// <summary>Each job of the batch is terminal; each succeeded job has exactly one result row; no result without a succeeded job.</summary>
    public static async Task NothingLostNothingDuplicatedAsync(TestPipeline p, Guid batchId, int expectedJobs)
    {
        var jobs = await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId", new { batchId });
        Assert.Equal(expectedJobs, jobs);
        var open = await p.QuerySingleAsync<int>(
            "SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state IN ('pending', 'queued', 'running')", new { batchId });
        Assert.Equal(0, open);
        var distinctKeys = await p.QuerySingleAsync<int>("SELECT count(DISTINCT input_key)::int FROM jobs WHERE batch_id = @batchId", new { batchId });
        Assert.Equal(expectedJobs, distinctKeys);
        var succeededWithoutOneResult = await p.QuerySingleAsync<int>("""
            SELECT count(*)::int FROM jobs j
             WHERE j.batch_id = @batchId AND j.state = 'succeeded'
               AND (SELECT count(*) FROM results r WHERE r.job_id = j.job_id) <> 1
            """, new { batchId });
        Assert.Equal(0, succeededWithoutOneResult);
        var resultsOfUnsucceeded = await p.QuerySingleAsync<int>("""
            SELECT count(*)::int FROM results r JOIN jobs j ON j.job_id = r.job_id
             WHERE r.batch_id = @batchId AND j.state <> 'succeeded'
            """, new { batchId });
        Assert.Equal(0, resultsOfUnsucceeded);
    }

    public static async Task AllSucceededAsync(TestPipeline p, Guid batchId, int expectedJobs)
    {
        await NothingLostNothingDuplicatedAsync(p, batchId, expectedJobs);
        var succeeded = await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state = 'succeeded'", new { batchId });
        Assert.True(succeeded == expectedJobs, $"{succeeded}/{expectedJobs} succeeded:\n{await p.DescribeJobsAsync(batchId)}");
    }
}
