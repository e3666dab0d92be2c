namespace KimiAudio.Model.Checkpoints;

/// <summary>Opens the weights of a HF model folder: through <c>model.safetensors.index.json</c> when present, else <c>model.safetensors</c>.</summary>
public static class CheckpointFiles
{
    public static TensorSource Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException($"model folder not found: {folder}");
        var index = System.IO.Path.Combine(folder, KimiAudioLayout.SafetensorsIndex);
        if (File.Exists(index)) return TensorSource.OpenIndex(index);
        var single = System.IO.Path.Combine(folder, KimiAudioLayout.Safetensors);
        if (File.Exists(single)) return TensorSource.OpenFile(single);
        throw new CheckpointException($"{folder} holds neither model.safetensors.index.json nor model.safetensors");
    }
}
