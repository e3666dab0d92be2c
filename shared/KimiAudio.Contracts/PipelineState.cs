namespace KimiAudio.Contracts;

/// <summary>
/// The state names of jobs and batches, as stored in <c>jobs.state</c> and <c>batches.state</c> (the CHECK constraints of
/// migrations/0001) and shown by the API, the CLI and the gauges. Every C# file uses these constants, in SQL too.
/// </summary>
public static class PipelineState
{
    public static class Job
    {
        /// <summary>Written, not yet published (or put back by retry-failed).</summary>
        public const string Pending = "pending";
        /// <summary>Published (or due for redelivery after a failed attempt).</summary>
        public const string Queued = "queued";
        /// <summary>Leased by a worker.</summary>
        public const string Running = "running";
        public const string Succeeded = "succeeded";
        /// <summary>Failed for good: a permanent error, or the batch's max_attempts used up.</summary>
        public const string Failed = "failed";
        public const string Cancelled = "cancelled";
        /// <summary>Not run: the same content was already annotated with the same options (points at that result).</summary>
        public const string Skipped = "skipped";

        public static readonly IReadOnlyList<string> All = [Pending, Queued, Running, Succeeded, Failed, Cancelled, Skipped];
        public static readonly IReadOnlyList<string> Terminal = [Succeeded, Failed, Cancelled, Skipped];
        public static readonly IReadOnlyList<string> Open = [Pending, Queued, Running];
    }

    public static class Batch
    {
        /// <summary>Jobs are being written and published.</summary>
        public const string Submitting = "submitting";
        public const string Running = "running";
        /// <summary>Every job is terminal.</summary>
        public const string Completed = "completed";
        public const string Cancelled = "cancelled";

        public static readonly IReadOnlyList<string> All = [Submitting, Running, Completed, Cancelled];
    }
}
