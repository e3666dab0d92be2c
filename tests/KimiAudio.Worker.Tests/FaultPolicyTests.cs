using KimiAudio.Audio;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.Jobs;

namespace KimiAudio.Worker.Tests;

public sealed class FaultPolicyTests
{
    public static TheoryData<Exception, string> PermanentFaults => new()
    {
        { new AudioDecodeException("bad header"), "decode" },
        { new ObjectNotFoundException("b", "k"), "storage" },
        { new ObjectTooLargeException("b", "k", 10, 5), "storage" },
        { new EngineRejectedException(Guid.NewGuid(), "unknown task"), "engine" },
        { new PermanentJobException("empty audio"), "input" },
    };

    [Theory]
    [MemberData(nameof(PermanentFaults))]
    public void Bad_input_and_rejected_requests_are_permanent_with_their_own_label(Exception fault, string label)
    {
        var decision = FaultPolicy.Classify(fault, fallbackLabel: "engine");
        Assert.True(decision.Permanent);
        Assert.Equal(label, decision.ReasonLabel);
        Assert.Contains(fault.Message, decision.Reason);
    }

    [Fact]
    public void A_decode_fault_and_a_rejection_say_what_kind_of_fault_they_are()
    {
        Assert.Equal("undecodable audio: bad header", FaultPolicy.Classify(new AudioDecodeException("bad header")).Reason);
        Assert.Equal("rejected by the model: too long", FaultPolicy.Classify(new EngineRejectedException(Guid.NewGuid(), "too long")).Reason);
    }

    [Fact]
    public void Other_faults_are_transient_and_take_the_label_of_the_step_they_happened_in()
    {
        var crash = FaultPolicy.Classify(new InvalidOperationException("engine crashed"), fallbackLabel: "engine");
        Assert.False(crash.Permanent);
        Assert.Equal("engine", crash.ReasonLabel);
        Assert.Equal("InvalidOperationException: engine crashed", crash.Reason);
        var io = FaultPolicy.Classify(new IOException("connection reset"));
        Assert.False(io.Permanent);
        Assert.Equal("other", io.ReasonLabel);
        Assert.Equal("timeout", FaultPolicy.Classify(new TimeoutException("slow")).ReasonLabel);
    }

    [Theory]
    [InlineData(1, 0.0, 4.0)]
    [InlineData(1, 0.5, 5.0)]
    [InlineData(1, 1.0, 6.0)]
    [InlineData(2, 0.5, 10.0)]
    [InlineData(4, 0.0, 32.0)]
    public void The_back_off_doubles_per_attempt_within_20_percent_jitter(int attempt, double jitter, double expected)
        => Assert.Equal(expected, FaultPolicy.RetryDelaySeconds(5, attempt, jitter), 9);

    [Fact]
    public void The_back_off_stops_growing_after_16_doublings()
        => Assert.Equal(FaultPolicy.RetryDelaySeconds(1, 17, 0.5), FaultPolicy.RetryDelaySeconds(1, 40, 0.5));
}
