using TorchSharp;
using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// Copies checkpoint tensors into a module's parameters and persistent buffers, strictly: every module key must be
/// present with the same shape, and every checkpoint key under the prefix must be consumed unless ignored.
/// Tensors are converted to the parameter's dtype and device one at a time, so peak memory is one tensor.
/// </summary>
public static class StateDictLoader
{
    /// <param name="module">target module; its state_dict keys are the checkpoint keys without <paramref name="prefix"/>.</param>
    /// <param name="source">checkpoint tensors.</param>
    /// <param name="prefix">prefix of this module's keys in the checkpoint, e.g. "encoder." or "".</param>
    /// <param name="ignore">checkpoint keys (full names) that may be present and are not loaded.</param>
    /// <param name="keyMap">optional mapping from module key to checkpoint key (after prefix), for unavoidable renames.</param>
    public static void Load(nn.Module module, ITensorSource source, string prefix, Func<string, bool>? ignore = null,
        Func<string, string>? keyMap = null)
    {
        ignore ??= _ => false;
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        using var _ = no_grad();
        foreach (var (name, target) in module.state_dict())
        {
            var key = prefix + (keyMap?.Invoke(name) ?? name);
            if (!source.Contains(key))
            {
                missing.Add(key);
                continue;
            }
            var shape = source.ShapeOf(key);
            if (!shape.SequenceEqual(target.shape))
                throw new CheckpointException(
                    $"tensor '{key}' has shape [{string.Join(", ", shape)}] in the checkpoint but the model expects [{string.Join(", ", target.shape)}]");
            using var t = source.Read(key);
            target.copy_(t);
            consumed.Add(key);
        }
        if (missing.Count > 0)
            throw new CheckpointException($"checkpoint is missing {missing.Count} tensor(s): {string.Join(", ", missing.Take(20))}");
        var unexpected = source.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !consumed.Contains(k) && !ignore(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException($"checkpoint has {unexpected.Count} unexpected tensor(s): {string.Join(", ", unexpected.Take(20))}");
    }
}
