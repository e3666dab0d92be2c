using System.Text.RegularExpressions;
using KimiAudio.Contracts;
using KimiAudio.Orchestrator.Batches;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>Filters of GET /results and GET /results/export; each bad parameter is reported under its own name.</summary>
public sealed partial record ResultFilter(Guid? BatchId, string? Task, string? State, string? Query)
{
    public const int MaxQueryLength = 200;

    /// <summary>The ILIKE pattern of <see cref="Query"/> (its % _ \ escaped), or null for no text search.</summary>
    public string? TextPattern => Query is null ? null
        : "%" + Query.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";

    /// <summary>The parameters <see cref="Read"/> reads, for the OpenAPI document.</summary>
    public static readonly QueryParameterDoc[] Parameters =
    [
        QueryParameterDoc.Guid("batchId", "Only jobs of this batch"),
        QueryParameterDoc.Text("task", "Only jobs of this task: [a-z0-9_-] (case-insensitive), e.g. asr, caption, qa, emotion, chat", 32),
        QueryParameterDoc.OneOf("state", "Only jobs in this state", PipelineState.Job.All),
        QueryParameterDoc.Text("q", "Case-insensitive substring of the result text", MaxQueryLength),
    ];

    public static ResultFilter Read(QueryParameters p)
    {
        var batchId = p.Guid("batchId");
        var task = p.Text("task", 32)?.Trim().ToLowerInvariant();
        if (task is not null && !TaskName().IsMatch(task)) p.Fail("task", "a task name is [a-z0-9_-], up to 32 characters (asr, caption, qa, emotion, chat, ...)");
        var state = p.OneOf("state", PipelineState.Job.All);
        var q = p.Text("q", MaxQueryLength);
        if (q is not null && string.IsNullOrWhiteSpace(q)) p.Fail("q", "must contain more than white space");
        return new ResultFilter(batchId, task, state, q);
    }

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex TaskName();
}
