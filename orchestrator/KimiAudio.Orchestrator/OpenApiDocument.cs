using System.Globalization;
using System.Text.Json.Nodes;
using KimiAudio.Orchestrator.Auth;
using Microsoft.OpenApi;

namespace KimiAudio.Orchestrator;

/// <summary>
/// The OpenAPI document at /openapi/v1.json. It is served without a key (it describes the API and holds no data) and
/// declares the API-key schemes every other endpoint needs: <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>.
/// </summary>
public static class OpenApiDocumentSetup
{
    public const string Path = "/openapi/{documentName}.json";

    public static IServiceCollection AddOrchestratorOpenApi(this IServiceCollection services) => services.AddOpenApi(o => o
        .AddOperationTransformer((operation, context, _) =>
        {
            DeclareQueryParameters(operation, context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameterDoc>());
            return Task.CompletedTask;
        })
        .AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "KimiAudio.Pipeline orchestrator";
            document.Info.Description = "Submit and watch batches, browse and export results. Every endpoint but /health* and this document needs an API key (`kimia keys create <name>`).";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "Authorization: Bearer <API key>",
            };
            document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = $"{ApiKeyAuthenticationHandler.HeaderName}: <API key>",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] });
            return Task.CompletedTask;
        }));

    /// <summary>Adds the declared query parameters, replacing any of the same name the generator inferred from the handler.</summary>
    private static void DeclareQueryParameters(OpenApiOperation operation, IEnumerable<QueryParameterDoc> declared)
    {
        foreach (var p in declared)
        {
            operation.Parameters ??= [];
            foreach (var inferred in operation.Parameters.Where(x => x.In == ParameterLocation.Query && x.Name == p.Name).ToList())
                operation.Parameters.Remove(inferred);
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = p.Name, In = ParameterLocation.Query, Required = false, Description = p.Description,
                Schema = new OpenApiSchema
                {
                    Type = p.Type == "integer" ? JsonSchemaType.Integer : p.Type == "number" ? JsonSchemaType.Number : JsonSchemaType.String,
                    Format = p.Format,
                    Enum = p.Allowed?.Select(JsonNode (a) => JsonValue.Create(a)).ToList(),
                    Minimum = p.Minimum?.ToString(CultureInfo.InvariantCulture),
                    Maximum = p.Maximum?.ToString(CultureInfo.InvariantCulture),
                    MaxLength = p.MaxLength,
                    Default = p.Default is null ? null : p.Type == "integer" ? JsonValue.Create(int.Parse(p.Default, CultureInfo.InvariantCulture)) : JsonValue.Create(p.Default),
                },
            });
        }
    }

    public static WebApplication MapOrchestratorOpenApi(this WebApplication app)
    {
        app.MapOpenApi(Path).AllowAnonymous();
        return app;
    }
}
