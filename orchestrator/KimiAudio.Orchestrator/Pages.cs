namespace KimiAudio.Orchestrator;

/// <summary>A keyset page of a newest-first listing: pass <see cref="Next"/> back as 'after'; null after the last page.</summary>
public sealed record CursorPage<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>A page of one batch's jobs in seq order: pass <see cref="Next"/> (the last seq) back as 'after'.</summary>
public sealed record SeqPage<T>(IReadOnlyList<T> Items, int? Next);
