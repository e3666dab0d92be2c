using Microsoft.AspNetCore.Antiforgery;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>An HTML response of the results browser: UTF-8, never cached, no script allowed to run, not frameable.</summary>
public sealed class HtmlPage(string html, int statusCode = StatusCodes.Status200OK) : IResult
{
    /// <summary>No script at all; styles inline; pictures and media from this origin only.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public int StatusCode => statusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var text = html;
        if (text.Contains(BrowserPages.FormTokenSlot, StringComparison.Ordinal))
        {
            // the token pair: a cookie (set here) and this field; a POST is accepted only with both, for the same signed-in key
            var tokens = httpContext.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(httpContext);
            text = text.Replace(BrowserPages.FormTokenSlot,
                $"<input type=\"hidden\" name=\"{Html.Encode(tokens.FormFieldName)}\" value=\"{Html.Encode(tokens.RequestToken)}\">", StringComparison.Ordinal);
        }
        response.StatusCode = statusCode;
        response.ContentType = "text/html; charset=utf-8";
        SetSecurityHeaders(response);
        return response.WriteAsync(text, httpContext.RequestAborted);
    }

    /// <summary>Headers every /ui response carries (pages, pictures and audio).</summary>
    public static void SetSecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "no-store";
        response.Headers["Referrer-Policy"] = "same-origin";
    }
}
