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

    public static IServiceCollection AddOrchestratorOpenApi(this IServiceCollection services) => services.AddOpenApi(o =>
        o.AddDocumentTransformer((document, _, _) =>
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

    public static WebApplication MapOrchestratorOpenApi(this WebApplication app)
    {
        app.MapOpenApi(Path).AllowAnonymous();
        return app;
    }
}
