using System.Text.RegularExpressions;
using KimiAudio.Contracts;
using KimiAudio.Orchestrator.Batches;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>Filters of GET /results and GET /results/export; each bad parameter is reported under its own name.</summary>
public sealed partial record ResultFilter(Guid? BatchId, string? Task, string? State, string? Query, double? MinWer = null, double? MaxWer = null)
{
    public const int MaxQueryLength = 200;
    /// <summary>Highest WER the filters take (a rate can pass 1: more insertions than reference words).</summary>
    public const double MaxWerFilter = 1000;

    /// <summary>Whether only scored results pass (a WER bound is set).</summary>
    public bool FiltersWer => MinWer is not null || MaxWer is not null;

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
        QueryParameterDoc.Number("minWer", "Only results scored against a reference with at least this WER (0.3 = 30 %): the worst rows"),
        QueryParameterDoc.Number("maxWer", "Only results scored against a reference with at most this WER"),
    ];

    public static ResultFilter Read(QueryParameters p)
    {
        var batchId = p.Guid("batchId");
        var task = p.Text("task", 32)?.Trim().ToLowerInvariant();
        if (task is not null && !TaskName().IsMatch(task)) p.Fail("task", "a task name is [a-z0-9_-], up to 32 characters (asr, caption, qa, emotion, chat, ...)");
        var state = p.OneOf("state", PipelineState.Job.All);
        var q = p.Text("q", MaxQueryLength);
        if (q is not null && string.IsNullOrWhiteSpace(q)) p.Fail("q", "must contain more than white space");
        var minWer = p.Number("minWer", 0, MaxWerFilter);
        var maxWer = p.Number("maxWer", 0, MaxWerFilter);
        if (minWer > maxWer) p.Fail("minWer", "must not be above maxWer");
        return new ResultFilter(batchId, task, state, q, minWer, maxWer);
    }

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex TaskName();
}
