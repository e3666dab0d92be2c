using System.Text.RegularExpressions;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Storage;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>Checks a submit request; each problem is reported under the name of the field that has it.</summary>
public static partial class SubmitBatchValidator
{
    public static readonly string[] OutputTypes = ["text", "audio", "both"];

    public static ValidatedBatch? Validate(SubmitBatchRequest r, out Dictionary<string, string[]> errors)
    {
        var e = new Dictionary<string, string[]>();
        void Add(string field, string message) => e[field] = [message];

        S3Uri? location = null;
        var isManifest = r.Manifest is not null;
        if ((r.Source is null) == (r.Manifest is null))
            Add(r.Source is null ? "source" : "manifest", "give exactly one of 'source' (s3://bucket/prefix) and 'manifest' (s3://bucket/list.jsonl|json|csv|parquet)");
        else if (!S3Uri.TryParse(r.Source ?? r.Manifest, out var parsed))
            Add(isManifest ? "manifest" : "source", "must look like s3://bucket/prefix (lower-case bucket name of 3-63 characters)");
        else if (isManifest && !Manifests.ManifestReader.IsManifestKey(parsed.Key))
            Add("manifest", "must name a .jsonl, .json (JSON Lines), .csv or .parquet object");
        else location = parsed;

        var task = r.Task?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(task) || !TaskName().IsMatch(task))
            Add("task", "required: asr, caption, qa, emotion, chat or another task name ([a-z0-9_-], up to 32 characters)");
        if (task == "qa" && string.IsNullOrWhiteSpace(r.Question)) Add("question", "required for task 'qa'");
        if (r.Question is { Length: > 4000 }) Add("question", "at most 4000 characters");

        var outputType = r.OutputType?.Trim().ToLowerInvariant() ?? "text";
        if (!OutputTypes.Contains(outputType)) Add("outputType", "must be text, audio or both");

        var s = r.Sampling ?? new SamplingRequest();
        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = s.Temperature ?? defaults.Temperature,
            TopK = s.TopK ?? defaults.TopK,
            RepetitionPenalty = s.RepetitionPenalty ?? defaults.RepetitionPenalty,
            Seed = s.Seed ?? defaults.Seed,
            MaxTokens = s.MaxTokens ?? defaults.MaxTokens,
        };
        if (!double.IsFinite(sampling.Temperature) || sampling.Temperature is < 0 or > 5) Add("sampling.temperature", "must be between 0 and 5");
        if (sampling.TopK is < 1 or > 100_000) Add("sampling.topK", "must be between 1 and 100000");
        if (!double.IsFinite(sampling.RepetitionPenalty) || sampling.RepetitionPenalty is <= 0 or > 10) Add("sampling.repetitionPenalty", "must be above 0 and at most 10");
        if (sampling.MaxTokens is < 1 or > 32_768) Add("sampling.maxTokens", "must be between 1 and 32768");

        var priority = r.Priority ?? 0;
        if (priority is < 0 or > 9) Add("priority", "must be between 0 and 9");
        if (r.MaxAttempts is < 1 or > OrchestratorOptions.MaxAttemptsLimit) Add("maxAttempts", $"must be between 1 and {OrchestratorOptions.MaxAttemptsLimit}");

        errors = e;
        return e.Count > 0 || location is null
            ? null
            : new ValidatedBatch(location, isManifest, task!, string.IsNullOrWhiteSpace(r.Question) ? null : r.Question, outputType, sampling, (byte)priority, r.MaxAttempts);
    }

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex TaskName();
}
