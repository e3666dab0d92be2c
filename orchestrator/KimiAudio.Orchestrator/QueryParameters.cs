using System.Globalization;

namespace KimiAudio.Orchestrator;

/// <summary>
/// Reads query-string parameters by hand so that a bad value becomes a 400 ValidationProblem naming the parameter
/// (model binding would answer a bare 400 for a malformed guid or number).
/// </summary>
public sealed class QueryParameters(IQueryCollection query)
{
    public const int MaxLimit = 1000;

    /// <summary>The 'limit' parameter read by <see cref="Limit"/>.</summary>
    public static QueryParameterDoc LimitDoc(int defaultValue = 100)
        => QueryParameterDoc.Integer("limit", "Items per page", 1, MaxLimit, defaultValue);

    /// <summary>The cursor parameter read by <see cref="Cursor"/>.</summary>
    public static QueryParameterDoc CursorDoc(string name = "after")
        => new(name, "Keyset cursor: the 'next' value of the previous page, unchanged (omit for the first page)");
    private readonly Dictionary<string, string[]> errors = [];

    public bool IsValid => errors.Count == 0;
    public IDictionary<string, string[]> Errors => errors;

    public void Fail(string name, string message) => errors[name] = [message];

    public string? Text(string name, int maxLength)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        if (value.Length > maxLength) Fail(name, $"at most {maxLength} characters");
        return value;
    }

    public Guid? Guid(string name)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        if (System.Guid.TryParse(value, out var id)) return id;
        Fail(name, $"'{value}' is not a GUID (e.g. {System.Guid.Empty})");
        return null;
    }

    public string? OneOf(string name, IReadOnlyCollection<string> allowed)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        if (allowed.Contains(value)) return value;
        Fail(name, $"'{value}' is not allowed: use one of {string.Join(", ", allowed)}");
        return null;
    }

    /// <summary>A decimal number in [min, max] (invariant culture), or null when absent.</summary>
    public double? Number(string name, double min, double max)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max) return d;
        Fail(name, $"must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }

    public int Limit(int defaultValue = 100) => Integer("limit", 1, MaxLimit, defaultValue);

    public int Integer(string name, int min, int max, int defaultValue)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return defaultValue;
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Fail(name, max == int.MaxValue ? $"must be a whole number of at least {min}" : $"must be a whole number between {min} and {max}");
        return defaultValue;
    }

    public PageCursor? Cursor(string name = "after")
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        if (PageCursor.TryParse(value, out var cursor)) return cursor;
        Fail(name, "not a cursor: pass the 'next' value of the previous page unchanged");
        return null;
    }
}
