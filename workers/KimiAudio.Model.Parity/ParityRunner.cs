using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>
/// Runs every stage that applies to a case folder: a detokenizer case (case.json names a detokenizer_dir) runs the
/// speech half; any other case runs the front-end, then the LLM, in the fixture README's order.
/// </summary>
public static class ParityRunner
{
    public static void Run(ParityCase c, ParityReport report, Device device)
    {
        if (c.Json.TryGetProperty("detokenizer_dir", out _))
        {
            DetokenizerParity.Run(c, report, device);
            return;
        }
        FrontEndParity.Run(c, report, device);
        LlmParity.Run(c, report, device);
    }
}
