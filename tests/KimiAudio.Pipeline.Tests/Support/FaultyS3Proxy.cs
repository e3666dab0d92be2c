using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// An HTTP proxy in front of the S3 server that answers a share of requests with 500 InternalError (S3's own error
/// shape) and forwards the rest unchanged, Host header included (it is part of the request signature).
/// </summary>
public sealed class FaultyS3Proxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(1) };
    private readonly Random random = new(42);
    private readonly Lock gate = new();
    private int faults;
    private int forwarded;

    public int Faults => faults;
    public int Forwarded => forwarded;
    public string Url { get; }

    private FaultyS3Proxy(string target, double failureShare)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        app = builder.Build();
        app.Run(async context =>
        {
            bool fail;
            lock (gate) fail = random.NextDouble() < failureShare;
            if (fail)
            {
                Interlocked.Increment(ref faults);
                context.Response.StatusCode = 500;
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>");
                return;
            }
            Interlocked.Increment(ref forwarded);
            await ForwardAsync(context, target);
        });
        app.StartAsync().GetAwaiter().GetResult();
        Url = app.Urls.First();
    }

    public static FaultyS3Proxy Start(string target, double failureShare) => new(target, failureShare);

    private async Task ForwardAsync(HttpContext context, string target)
    {
        var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target.TrimEnd('/') + context.Request.Path + context.Request.QueryString);
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (body.Length > 0 || context.Request.ContentLength is not null)
            request.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        request.Headers.Host = context.Request.Host.Value;
        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) context.Response.Headers[name] = values.ToArray();
        await response.Content.CopyToAsync(context.Response.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        upstream.Dispose();
    }
}
