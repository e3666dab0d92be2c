using KimiAudio.Model.Parity;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KimiAudio.Model.Tests.FrontEnd;

public class FrontEndParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> PublicCases => new() { "asr-short", "chat-short" };

    [Theory]
    [MemberData(nameof(PublicCases))]
    public void Front_end_matches_every_expected_tensor_of_the_case(string caseName)
    {
        using var c = ParityCase.Open(Fixtures.Path(caseName));
        var report = new ParityReport(c.Name);
        FrontEndParity.Run(c, report, CPU);
        var w = new StringWriter();
        report.Write(w);
        output.WriteLine(w.ToString());
        foreach (var name in new[] { "mel", "whisper_features_50hz", "whisper_features_12hz", "glm_features", "glm_frame_mask", "glm_pooled", "glm_tokens" })
            Assert.Contains(report.Lines, l => l.Name == name);
        Assert.True(report.AllPassed, w.ToString());
    }
}
