namespace KimiAudio.Worker.Jobs;

/// <summary>A fault that retrying cannot fix (empty audio, over the length limit). The job fails at once with this reason.</summary>
public sealed class PermanentJobException(string reason) : Exception(reason);
