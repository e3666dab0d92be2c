using System.Security.Claims;
using System.Text.Encodings.Web;
using KimiAudio.Infrastructure.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>
/// Authenticates a request by its API key (<c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>)
/// against the hashed keys in Postgres; a challenge answers 401 with a problem body that says what was wrong.
/// Under /ui (the results browser) the key may instead come from the login cookie (<see cref="BrowserSession"/>), and a
/// challenge there redirects to the login page.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder,
    ApiKeyStore store, IProblemDetailsService problems, BrowserSession session)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request) ?? (BrowserSession.IsBrowserPath(Request.Path) ? session.ReadKey(Request) : null);
        if (key is null) return AuthenticateResult.NoResult();
        var info = await store.VerifyAsync(key, Context.RequestAborted);
        if (info is null) return AuthenticateResult.Fail("the API key is invalid or revoked");
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, info.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), new Claim(ClaimTypes.Name, info.Name)],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (BrowserSession.IsBrowserPath(Request.Path))
        {
            if (BrowserSession.HasCookie(Request)) BrowserSession.SignOut(Context); // expired, tampered with or revoked
            var returnUrl = BrowserSession.SafeReturnUrl(Request.Path + Request.QueryString);
            Response.Redirect($"{BrowserSession.LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
            return;
        }
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = result.None
                    ? $"an API key is required: send 'Authorization: Bearer <key>' or '{HeaderName}: <key>' (create one with `kimia keys create <name>`)"
                    : "the API key is invalid or revoked",
            },
        });
    }

    private static string? ReadKey(HttpRequest request)
    {
        if (request.Headers[HeaderName].ToString() is { Length: > 0 } header) return header.Trim();
        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }
}
