using KimiAudio.Model.Llm;
using KimiAudio.Model.Prompting;
using static TorchSharp.torch;

namespace KimiAudio.Model.Generation;

/// <summary>
/// Several prompts as one left-padded batch: ids [B, L], position ids counting from each row's first real token,
/// a key-validity map over the cache slots, the prefill attention mask (causal, pads never attended; a pad query
/// attends to itself only, so no row is all-masked) and the continuous features at their flat positions.
/// </summary>
public sealed class PromptBatch : IDisposable
{
    public required Tensor AudioIds { get; init; }
    public required Tensor TextIds { get; init; }
    public required Tensor Positions { get; init; }
    /// <summary>Bool [B, 1, L, L] or null when no row is padded (plain causal attention).</summary>
    public Tensor? PrefillMask { get; init; }
    public ContinuousInput? Continuous { get; init; }
    /// <summary>Per row: number of pad slots on the left.</summary>
    public required int[] Pads { get; init; }
    public required int[] Lengths { get; init; }
    public int Width => Lengths.Max();

    public static PromptBatch Create(IReadOnlyList<KimiPrompt> prompts, long padId, Device device)
    {
        using var scope = NewDisposeScope();
        int b = prompts.Count;
        var lengths = prompts.Select(p => p.Length).ToArray();
        int width = lengths.Max();
        var pads = lengths.Select(l => width - l).ToArray();
        var audio = new long[b * width];
        var text = new long[b * width];
        var pos = new long[b * width];
        var flat = new List<long>();
        var rows = new List<Tensor>();
        for (int r = 0; r < b; r++)
        {
            var p = prompts[r];
            for (int j = 0; j < width; j++)
            {
                int i = j - pads[r];
                audio[r * width + j] = i >= 0 ? p.AudioIds[i] : padId;
                text[r * width + j] = i >= 0 ? p.TextIds[i] : padId;
                pos[r * width + j] = Math.Max(i, 0);
            }
            foreach (var s in p.Segments)
            {
                for (int i = 0; i < s.Length; i++) flat.Add((long)r * width + pads[r] + s.Start + i);
                rows.Add(s.Features.narrow(0, 0, s.Length).to(ScalarType.Float32));
            }
        }
        Tensor? mask = null;
        if (pads.Any(x => x > 0))
        {
            var valid = KeyValidity(pads, width, device);
            var causal = ones(width, width, dtype: ScalarType.Bool, device: device).tril();
            var self = eye(width, dtype: ScalarType.Bool, device: device);
            mask = (causal.unsqueeze(0) & (valid.unsqueeze(1) | self.unsqueeze(0))).unsqueeze(1).MoveToOuterDisposeScope();
        }
        ContinuousInput? continuous = null;
        if (flat.Count > 0)
        {
            continuous = new ContinuousInput(
                tensor(flat.ToArray(), device: device).MoveToOuterDisposeScope(),
                cat(rows, 0).to(device).MoveToOuterDisposeScope());
        }
        return new PromptBatch
        {
            AudioIds = tensor(audio, [b, width], device: device).MoveToOuterDisposeScope(),
            TextIds = tensor(text, [b, width], device: device).MoveToOuterDisposeScope(),
            Positions = tensor(pos, [b, width], device: device).MoveToOuterDisposeScope(),
            PrefillMask = mask,
            Continuous = continuous,
            Pads = pads,
            Lengths = lengths,
        };
    }

    /// <summary>Bool [B, width]: false on each row's left padding.</summary>
    public static Tensor KeyValidity(int[] pads, int width, Device device)
    {
        using var scope = NewDisposeScope();
        var cols = arange(width, device: device).unsqueeze(0);
        var padT = tensor(pads.Select(p => (long)p).ToArray(), device: device).unsqueeze(1);
        return cols.ge(padT).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        AudioIds.Dispose();
        TextIds.Dispose();
        Positions.Dispose();
        PrefillMask?.Dispose();
        Continuous?.FlatIndex.Dispose();
        Continuous?.Rows.Dispose();
    }
}
