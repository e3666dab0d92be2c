using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KimiAudio.Chaos;

/// <summary>
/// An HTTP proxy in front of the S3 server. A seeded share of requests fails: half are answered 500 InternalError
/// without reaching S3, half are forwarded (S3 applies them) and then held past the client's timeout, so the answer of a
/// request that did happen is lost. The rest are forwarded unchanged (Host header included: it is signed).
/// </summary>
public sealed class FaultingS3Proxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(2) };
    private readonly Random random;
    private readonly Lock gate = new();
    private readonly double faultRate;
    private readonly TimeSpan hold;
    private int errors;
    private int timeouts;
    private int forwarded;

    public int Errors => errors;
    public int Timeouts => timeouts;
    public int Forwarded => forwarded;
    public string Url { get; }
    /// <summary>Off while the harness itself reads S3 through the same proxy (never: it uses S3 directly), or to end the faults.</summary>
    public bool Enabled { get; set; } = true;

    public FaultingS3Proxy(string target, double faultRate, int seed, TimeSpan hold)
    {
        random = new Random(seed);
        this.faultRate = faultRate;
        this.hold = hold;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        app = builder.Build();
        app.Run(context => HandleAsync(context, target));
        app.StartAsync().GetAwaiter().GetResult();
        Url = app.Urls.First();
    }

    private async Task HandleAsync(HttpContext context, string target)
    {
        double draw;
        lock (gate) draw = random.NextDouble();
        if (Enabled && draw < faultRate / 2)
        {
            Interlocked.Increment(ref errors);
            context.Response.StatusCode = 500;
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>");
            return;
        }
        var timeout = Enabled && draw < faultRate;
        using var request = await ToUpstreamAsync(context, target);
        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        if (timeout)
        {
            Interlocked.Increment(ref timeouts);
            try { await Task.Delay(hold, context.RequestAborted); } catch (OperationCanceledException) { return; }
            context.Abort();
            return;
        }
        Interlocked.Increment(ref forwarded);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) context.Response.Headers[name] = values.ToArray();
        await response.Content.CopyToAsync(context.Response.Body);
    }

    private static async Task<HttpRequestMessage> ToUpstreamAsync(HttpContext context, string target)
    {
        var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target.TrimEnd('/') + context.Request.Path + context.Request.QueryString);
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (body.Length > 0 || context.Request.ContentLength is not null) request.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray())) request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        request.Headers.Host = context.Request.Host.Value;
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        upstream.Dispose();
    }
}
