namespace KimiAudio.Evaluation;

/// <summary>
/// Levenshtein alignment of two token sequences (unit costs) with its substitutions, deletions and insertions. Where
/// several alignments have the least cost, the trace back from the end takes a match or substitution first, then a
/// deletion, then an insertion, so the counts are the same on every run and platform.
/// </summary>
public static class EditAlignment
{
    public static ErrorCounts Align<T>(IReadOnlyList<T> reference, IReadOnlyList<T> hypothesis, IEqualityComparer<T>? comparer = null)
    {
        comparer ??= EqualityComparer<T>.Default;
        int n = reference.Count, m = hypothesis.Count;
        // cost[i, j]: least edits turning reference[..i] into hypothesis[..j]
        var cost = new int[n + 1, m + 1];
        for (var i = 0; i <= n; i++) cost[i, 0] = i;
        for (var j = 0; j <= m; j++) cost[0, j] = j;
        for (var i = 1; i <= n; i++)
            for (var j = 1; j <= m; j++)
            {
                var diagonal = cost[i - 1, j - 1] + (comparer.Equals(reference[i - 1], hypothesis[j - 1]) ? 0 : 1);
                cost[i, j] = Math.Min(diagonal, Math.Min(cost[i - 1, j] + 1, cost[i, j - 1] + 1));
            }

        int s = 0, d = 0, ins = 0;
        for (int i = n, j = m; i > 0 || j > 0;)
        {
            if (i > 0 && j > 0)
            {
                var same = comparer.Equals(reference[i - 1], hypothesis[j - 1]);
                if (cost[i, j] == cost[i - 1, j - 1] + (same ? 0 : 1))
                {
                    if (!same) s++;
                    i--; j--;
                    continue;
                }
            }
            if (i > 0 && cost[i, j] == cost[i - 1, j] + 1) { d++; i--; }
            else { ins++; j--; }
        }
        return new ErrorCounts(s, d, ins, n);
    }
}
