using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Resilience;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>
/// Every endpoint requires an API key unless it is marked AllowAnonymous (the health endpoints): a fallback policy, so
/// an endpoint added later is protected without anyone remembering to. Errors become problem details without internals.
/// </summary>
public static class ApiSecurity
{
    public static IServiceCollection AddApiSecurity(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddExceptionHandler<DatabaseUnavailableHandler>();
        services.AddSingleton(sp => new ApiKeyStore(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredKeyedService<ResiliencePipeline>(PipelineResilience.Postgres)));
        services.AddDataProtection();
        services.AddSingleton<BrowserSession>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder().SetFallbackPolicy(
            new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build());
        return services;
    }

    /// <summary>
    /// Exception handler (a database outage is a 503 with Retry-After, anything else a 500 problem with no stack trace or
    /// message), then authentication and authorization.
    /// </summary>
    public static WebApplication UseApiSecurity(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
