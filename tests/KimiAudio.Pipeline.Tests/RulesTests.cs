using System.Net;
using Amazon.S3;
using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Resilience;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;

namespace KimiAudio.Pipeline.Tests;

/// <summary>The pipeline's rules that need no service: segmenting, fingerprints, fault classes, validation.</summary>
public sealed class RulesTests
{
    [Fact]
    public void Long_audio_is_split_into_consecutive_segments_of_at_most_30_seconds()
    {
        var spans = SegmentSpan.Plan(100 * 16000, 30 * 16000);
        Assert.Equal([0, 480000, 960000, 1440000], spans.Select(s => s.Start));
        Assert.Equal([480000, 960000, 1440000, 1600000], spans.Select(s => s.End));
        Assert.Equal([0, 1, 2, 3], spans.Select(s => s.Index));
        Assert.Single(SegmentSpan.Plan(30 * 16000, 30 * 16000));
        Assert.Empty(SegmentSpan.Plan(0, 30 * 16000));
    }

    [Fact]
    public void The_options_hash_changes_with_every_setting_that_changes_a_result()
    {
        var sampling = new SamplingOptions();
        var baseline = OptionsHash.Compute("asr", null, null, "text", sampling);
        Assert.Equal(baseline, OptionsHash.Compute("asr", null, null, "text", new SamplingOptions()));
        Assert.NotEqual(baseline, OptionsHash.Compute("caption", null, null, "text", sampling));
        Assert.NotEqual(baseline, OptionsHash.Compute("asr", "q", null, "text", sampling));
        Assert.NotEqual(baseline, OptionsHash.Compute("asr", null, "p", "text", sampling));
        Assert.NotEqual(baseline, OptionsHash.Compute("asr", null, null, "both", sampling));
        Assert.NotEqual(baseline, OptionsHash.Compute("asr", null, null, "text", sampling with { Seed = 1 }));
        Assert.NotEqual(baseline, OptionsHash.Compute("asr", null, null, "text", sampling with { Temperature = 0.7 }));
    }

    [Fact]
    public void Decode_errors_missing_objects_and_model_rejections_are_permanent_other_faults_are_not()
    {
        Assert.True(FaultPolicy.IsPermanent(new AudioDecodeException("bad header")));
        Assert.True(FaultPolicy.IsPermanent(new ObjectNotFoundException("b", "k")));
        Assert.True(FaultPolicy.IsPermanent(new EngineRejectedException(Guid.NewGuid(), "unknown task")));
        Assert.True(FaultPolicy.IsPermanent(new PermanentJobException("empty")));
        Assert.False(FaultPolicy.IsPermanent(new IOException("connection reset")));
        Assert.False(FaultPolicy.IsPermanent(new InvalidOperationException("engine crashed")));
    }

    [Fact]
    public void S3_server_errors_and_throttling_are_retried_in_the_step_but_not_found_and_denied_are_not()
    {
        static AmazonS3Exception Error(HttpStatusCode status, string code) => new("x") { StatusCode = status, ErrorCode = code };
        Assert.True(PipelineResilience.IsTransientS3(Error(HttpStatusCode.InternalServerError, "InternalError"), CancellationToken.None));
        Assert.True(PipelineResilience.IsTransientS3(Error(HttpStatusCode.ServiceUnavailable, "SlowDown"), CancellationToken.None));
        Assert.True(PipelineResilience.IsTransientS3(new HttpRequestException("reset"), CancellationToken.None));
        Assert.True(PipelineResilience.IsTransientS3(new TaskCanceledException("http timeout"), CancellationToken.None));
        Assert.False(PipelineResilience.IsTransientS3(Error(HttpStatusCode.NotFound, "NoSuchKey"), CancellationToken.None));
        Assert.False(PipelineResilience.IsTransientS3(Error(HttpStatusCode.Forbidden, "AccessDenied"), CancellationToken.None));
        Assert.False(PipelineResilience.IsTransientS3(new OperationCanceledException(), new CancellationToken(canceled: true)));
    }

    [Fact]
    public void Speech_survives_the_checkpoint_format_to_within_one_16_bit_step()
    {
        var speech = Enumerable.Range(0, 2400).Select(i => 0.8f * MathF.Sin(i * 0.05f)).ToArray();
        var back = SpeechPcm.FromPcm16(SpeechPcm.ToPcm16(speech));
        Assert.Equal(speech.Length, back.Length);
        Assert.All(speech.Zip(back), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1.0 / short.MaxValue));
        Assert.Equal([0f, 1f, -1f], SpeechPcm.FromPcm16(SpeechPcm.ToPcm16([float.NaN, 2f, -3f])).Select(x => MathF.Round(x, 4)));
    }

    [Fact]
    public void A_valid_request_gets_defaults_and_a_qa_request_needs_a_question()
    {
        var ok = SubmitBatchValidator.Validate(new SubmitBatchRequest { Source = "s3://bucket-a/in/", Task = "ASR" }, out var errors);
        Assert.Empty(errors);
        Assert.NotNull(ok);
        Assert.Equal("asr", ok.Task);
        Assert.Equal("text", ok.OutputType);
        Assert.Equal(new S3Uri("bucket-a", "in/"), ok.Location);
        Assert.Null(SubmitBatchValidator.Validate(new SubmitBatchRequest { Source = "s3://bucket-a/in/", Task = "qa" }, out errors));
        Assert.Contains("question", errors.Keys);
        Assert.Null(SubmitBatchValidator.Validate(new SubmitBatchRequest { Source = "s3://b-1/", Manifest = "s3://b-1/x.csv", Task = "asr" }, out errors));
        Assert.Contains("manifest", errors.Keys);
        Assert.Null(ok.MaxAttempts); // the orchestrator's Orchestrator:MaxAttempts applies
        Assert.Equal(7, SubmitBatchValidator.Validate(new SubmitBatchRequest { Source = "s3://bucket-a/in/", Task = "asr", MaxAttempts = 7 }, out _)!.MaxAttempts);
        foreach (var bad in new[] { 0, 101 })
        {
            Assert.Null(SubmitBatchValidator.Validate(new SubmitBatchRequest { Source = "s3://bucket-a/in/", Task = "asr", MaxAttempts = bad }, out errors));
            Assert.Equal("maxAttempts", Assert.Single(errors.Keys));
        }
    }
}
