namespace KimiAudio.Model.Checkpoints;

/// <summary>A checkpoint folder or file that cannot be loaded as it is: missing, unexpected or mis-shaped tensors.</summary>
public sealed class CheckpointException(string message) : Exception(message);
