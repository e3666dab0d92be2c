using KimiAudio.Contracts;
using KimiAudio.Evaluation;

namespace KimiAudio.Worker.Jobs;

/// <summary>Scores a result against its manifest reference (WER/CER and their counts); a job without a reference is left unscored.</summary>
public static class ResultScoring
{
    public static JobResultRow Apply(JobResultRow row, ProcessAudio message)
    {
        if (message.ReferenceText is not { } reference) return row;
        var score = TranscriptScorer.Score(reference, row.Text, message.Language);
        return row with
        {
            Wer = score.Wer,
            Cer = score.Cer,
            ReferenceWords = score.Words.ReferenceLength,
            WordSubstitutions = score.Words.Substitutions,
            WordDeletions = score.Words.Deletions,
            WordInsertions = score.Words.Insertions,
            ReferenceChars = score.Characters.ReferenceLength,
            CharErrors = score.Characters.Errors,
        };
    }
}
