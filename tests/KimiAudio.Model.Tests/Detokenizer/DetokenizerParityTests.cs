using KimiAudio.Model.Parity;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Detokenizer;

public class DetokenizerParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("detok-31")]
    [InlineData("detok-90")]
    public void Fixture_case_matches_schedule_and_every_stage(string name)
    {
        using var c = ParityCase.Open(Fixtures.Path("detok-tiny-a", name));
        var report = new ParityReport(c.Name);
        DetokenizerParity.Run(c, report, CPU);
        var text = new StringWriter();
        report.Write(text);
        output.WriteLine(text.ToString());
        Assert.True(report.AllPassed, text.ToString());
        Assert.Contains(report.Lines, l => l.Name == "wav");
    }
}
