using KimiAudio.Contracts;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>Builds the one message of a job from its batch settings and job row: the submitter, retry-failed and the sweeper all send this.</summary>
public static class ProcessAudioFactory
{
    public static ProcessAudio Create(Guid batchId, ValidatedBatch batch, JobRow job)
        => Create(batchId, job.JobId, job.Item, job.OptionsHash, batch.Task, batch.Question, batch.OutputType, batch.Sampling);

    /// <summary>The same from the stored fields of a job and its batch (the sweeper's redelivery reads them from the database).</summary>
    public static ProcessAudio Create(
        Guid batchId, Guid jobId, SourceItem item, string optionsHash, string task, string? question, string outputType, SamplingOptions sampling) => new()
    {
        JobId = jobId,
        BatchId = batchId,
        Input = new ObjectRef { Bucket = item.Bucket, Key = item.Key, ETag = item.ETag, Size = item.Size },
        Task = task,
        Prompt = item.Prompt,
        Question = question,
        OutputType = outputType,
        Sampling = sampling,
        OptionsHash = optionsHash,
        Region = item.Manifest?.Region,
        ReferenceText = item.Manifest?.ReferenceText,
        Language = item.Manifest?.Language,
    };
}
