using static TorchSharp.torch;

namespace KimiAudio.Model.Parity;

/// <summary>Runs every stage that applies to a case folder, in the README's order (front-end, then LLM).</summary>
public static class ParityRunner
{
    public static void Run(ParityCase c, ParityReport report, Device device)
    {
        FrontEndParity.Run(c, report, device);
        LlmParity.Run(c, report, device);
    }
}
