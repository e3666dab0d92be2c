using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace KimiAudio.Orchestrator.Auth;

/// <summary>
/// The results browser's sign-in: a browser cannot send an API key header, so the login form puts the key in a cookie,
/// encrypted and signed by ASP.NET Core data protection with a lifetime. Every request still verifies the key against
/// Postgres (<see cref="ApiKeyAuthenticationHandler"/>), so a revoked key stops the session at once. The cookie is read
/// only under <see cref="PathPrefix"/>: the JSON API keeps requiring a header, so the cookie cannot be used to call it.
/// </summary>
public sealed class BrowserSession(IDataProtectionProvider protection)
{
    public const string PathPrefix = "/ui";
    public const string LoginPath = "/ui/login";
    public const string CookieName = "kimia_session";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector protector =
        protection.CreateProtector("KimiAudio.Orchestrator.BrowserSession.v1").ToTimeLimitedDataProtector();

    public static bool IsBrowserPath(PathString path) => path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The API key in the request's session cookie; null when there is none, or it was tampered with or expired.</summary>
    public string? ReadKey(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value)) return null;
        try
        {
            return protector.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Sets the session cookie: HttpOnly, SameSite=Strict, Secure when the request came over HTTPS, path /ui.</summary>
    public void SignIn(HttpContext context, string key)
        => context.Response.Cookies.Append(CookieName, protector.Protect(key, Lifetime), CookieOptions(context.Request));

    public static void SignOut(HttpContext context) => context.Response.Cookies.Delete(CookieName, CookieOptions(context.Request));

    public static bool HasCookie(HttpRequest request) => request.Cookies.ContainsKey(CookieName);

    private static CookieOptions CookieOptions(HttpRequest request) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = PathPrefix,
        IsEssential = true,
    };

    /// <summary>A local /ui address to return to after login; anything else (another site, //host, /api) gives /ui.</summary>
    public static string SafeReturnUrl(string? returnUrl)
        => returnUrl is { Length: > 0 } url && url.StartsWith(PathPrefix, StringComparison.Ordinal)
            && (url.Length == PathPrefix.Length || url[PathPrefix.Length] is '/' or '?')
            && !url.Contains('\\') && !url.Any(char.IsControl) && !url.StartsWith(LoginPath, StringComparison.Ordinal)
            ? url
            : PathPrefix;
}
