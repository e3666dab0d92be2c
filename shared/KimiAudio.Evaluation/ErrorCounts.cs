namespace KimiAudio.Evaluation;

/// <summary>
/// The edits of one alignment of a hypothesis against a reference of <see cref="ReferenceLength"/> units (words or
/// characters). Counts add up across results, so a corpus rate is the sum of errors over the sum of reference units.
/// </summary>
public readonly record struct ErrorCounts(int Substitutions, int Deletions, int Insertions, int ReferenceLength)
{
    public int Errors => Substitutions + Deletions + Insertions;

    /// <summary>
    /// Errors / reference units. An empty reference has no units to divide by: the rate is 0 when the hypothesis is
    /// empty too and 1 when it is not (every unit an insertion), so an empty reference never scores perfect by accident.
    /// </summary>
    public double Rate => RateOf(Errors, ReferenceLength);

    /// <summary>The rate of summed counts (a corpus), with the same rule for no reference units.</summary>
    public static double RateOf(long errors, long referenceUnits) => referenceUnits > 0 ? (double)errors / referenceUnits : errors == 0 ? 0 : 1;

    public static ErrorCounts operator +(ErrorCounts a, ErrorCounts b)
        => new(a.Substitutions + b.Substitutions, a.Deletions + b.Deletions, a.Insertions + b.Insertions, a.ReferenceLength + b.ReferenceLength);
}
