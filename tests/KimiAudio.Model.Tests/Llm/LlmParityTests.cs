using KimiAudio.Model.Parity;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.Llm;

public class LlmParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("asr-short")]
    [InlineData("chat-short")]
    public void Public_case_passes_every_llm_stage(string name)
    {
        using var c = ParityCase.Open(Fixtures.Path(name));
        var report = new ParityReport(c.Name);
        LlmParity.Run(c, report, CPU);
        var w = new StringWriter();
        report.Write(w);
        output.WriteLine(w.ToString());
        Assert.True(report.Lines.Count == 16, w.ToString());
        Assert.True(report.AllPassed, w.ToString());
    }
}
