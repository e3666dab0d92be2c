using System.Globalization;

namespace KimiAudio.Orchestrator;

/// <summary>
/// A query parameter as the OpenAPI document declares it. Endpoints that read their query string by hand
/// (<see cref="QueryParameters"/>, so that a bad value is a 400 naming it) attach these as endpoint metadata with
/// <see cref="QueryParameterDocExtensions.WithQueryParameters"/>; the document's operation transformer turns them into
/// parameters. The allowed values and bounds come from the same constants the parsing checks against.
/// </summary>
public sealed record QueryParameterDoc(string Name, string Description)
{
    /// <summary>JSON schema type: "string", "integer" or "number".</summary>
    public string Type { get; init; } = "string";
    public string? Format { get; init; }
    public IReadOnlyList<string>? Allowed { get; init; }
    public int? Minimum { get; init; }
    public int? Maximum { get; init; }
    public int? MaxLength { get; init; }
    public string? Default { get; init; }

    public static QueryParameterDoc Text(string name, string description, int maxLength) => new(name, description) { MaxLength = maxLength };

    public static QueryParameterDoc OneOf(string name, string description, IReadOnlyList<string> allowed, string? defaultValue = null)
        => new(name, description) { Allowed = allowed, Default = defaultValue };

    public static QueryParameterDoc Guid(string name, string description) => new(name, description) { Format = "uuid" };

    public static QueryParameterDoc Number(string name, string description) => new(name, description) { Type = "number", Format = "double" };

    public static QueryParameterDoc Integer(string name, string description, int minimum, int maximum, int? defaultValue = null)
        => new(name, description)
        {
            Type = "integer", Format = "int32", Minimum = minimum, Maximum = maximum,
            Default = defaultValue?.ToString(CultureInfo.InvariantCulture),
        };
}

public static class QueryParameterDocExtensions
{
    /// <summary>Declares the query parameters an endpoint reads by hand, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder WithQueryParameters(this RouteHandlerBuilder builder, params QueryParameterDoc[] parameters)
        => builder.WithMetadata([.. parameters]);
}
