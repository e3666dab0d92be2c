namespace KimiAudio.Vad;

/// <summary>
/// Where the Silero VAD model file is: an explicit path (an option), else the KIMIA_VAD_MODEL environment variable, else
/// .run/tools/silero-vad/silero_vad_v5.onnx in the first folder above the program that has one (where
/// infra/services.sh install puts it).
/// </summary>
public static class VadModelLocator
{
    public const string EnvironmentVariable = "KIMIA_VAD_MODEL";
    public const string InstalledRelativePath = ".run/tools/silero-vad/silero_vad_v5.onnx";

    /// <summary>The model path to use; it may not exist (then <see cref="SileroVad.Open"/> says how to install it).</summary>
    public static string Resolve(string? configuredPath = null)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath)) return Path.GetFullPath(configuredPath);
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment) return Path.GetFullPath(fromEnvironment);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, InstalledRelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return Path.Combine(Directory.GetCurrentDirectory(), InstalledRelativePath);
    }
}
