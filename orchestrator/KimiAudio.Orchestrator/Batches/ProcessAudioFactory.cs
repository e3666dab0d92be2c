using KimiAudio.Contracts;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>Builds the one message of a job from its batch settings and job row.</summary>
public static class ProcessAudioFactory
{
    public static ProcessAudio Create(Guid batchId, ValidatedBatch batch, JobRow job) => new()
    {
        JobId = job.JobId,
        BatchId = batchId,
        Input = new ObjectRef { Bucket = job.Item.Bucket, Key = job.Item.Key, ETag = job.Item.ETag, Size = job.Item.Size },
        Task = batch.Task,
        Prompt = job.Item.Prompt,
        Question = batch.Question,
        OutputType = batch.OutputType,
        Sampling = batch.Sampling,
        OptionsHash = job.OptionsHash,
    };
}
