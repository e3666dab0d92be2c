using KimiAudio.Contracts;
using KimiAudio.Worker.Jobs;

namespace KimiAudio.Worker.Tests;

public sealed class JobResultRowTests
{
    private static readonly ProcessAudio Message = new()
    {
        JobId = Guid.NewGuid(),
        BatchId = Guid.NewGuid(),
        Input = new ObjectRef { Bucket = "in", Key = "a.wav", ETag = "\"e\"", Size = 42 },
        Task = "asr",
        OutputType = "both",
        Sampling = new SamplingOptions(),
        OptionsHash = "h",
    };

    [Fact]
    public void The_row_joins_the_segments_in_order_and_skips_empty_texts()
    {
        var segments = new[]
        {
            new SegmentCheckpoint { SegmentIndex = 0, Text = " hello ", TextTokens = [1, 2], AudioTokens = [7] },
            new SegmentCheckpoint { SegmentIndex = 1, Text = "  ", TextTokens = [], AudioTokens = [8, 9] },
            new SegmentCheckpoint { SegmentIndex = 2, Text = "world", TextTokens = [3], AudioTokens = [] },
        };
        var row = JobResultRow.From(Message, segments, "kimia-results/b/j.wav", 61.5, "m@f32", "{}");

        Assert.Equal("hello world", row.Text);
        Assert.Equal([1, 2, 3], row.TextTokens);
        Assert.Equal([7, 8, 9], row.AudioTokens);
        Assert.Equal(("in", "kimia-results/b/j.wav"), (row.ArtifactBucket, row.ArtifactKey));
        Assert.Equal((Message.JobId, Message.BatchId, "a.wav", "\"e\"", 42L, "h"), (row.JobId, row.BatchId, row.InputKey, row.InputETag, row.InputSize, row.OptionsHash));
        Assert.Equal(61.5, row.AudioSeconds);
    }

    [Fact]
    public void A_row_without_speech_has_no_artifact()
    {
        var row = JobResultRow.From(Message, [new SegmentCheckpoint { Text = "x" }], null, 1, "m", "{}");
        Assert.Null(row.ArtifactBucket);
        Assert.Null(row.ArtifactKey);
    }
}
