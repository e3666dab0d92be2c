using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Batches;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>
/// The results browser under /ui: batches with progress, a batch's jobs, a job with its audio players and waveforms, and
/// the login form. Pages need a signed-in session (or an API key header); audio is streamed from S3 by the orchestrator,
/// so the browser never sees an S3 address or credential.
/// </summary>
public static class BrowserEndpoints
{
    public const string InputAudio = "input";
    public const string SpeechAudio = "speech";
    public const string LogoutPath = BrowserSession.PathPrefix + "/logout";

    public static IServiceCollection AddResultsBrowser(this IServiceCollection services)
    {
        services.AddOptions<BrowserOptions>().BindConfiguration(BrowserOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<BrowserRepository>();
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<BrowserOptions>, ILoggerFactory>((keys, browser, logs) =>
        {
            if (browser.Value.SessionKeyRingPath is { Length: > 0 } path)
                keys.XmlRepository = new FileSystemXmlRepository(Directory.CreateDirectory(path), logs);
        });
        return services;
    }

    public static IEndpointRouteBuilder MapResultsBrowser(this IEndpointRouteBuilder app)
    {
        // HTML pages for people, not part of the HTTP API's OpenAPI document
        var ui = app.MapGroup(BrowserSession.PathPrefix).ExcludeFromDescription();
        ui.AddEndpointFilter(async (context, next) =>
        {
            HtmlPage.SetSecurityHeaders(context.HttpContext.Response);
            return await next(context);
        });
        ui.MapGet("/login", (string? returnUrl) => new HtmlPage(BrowserPages.Login(returnUrl, null))).AllowAnonymous();
        ui.MapPost("/login", LoginAsync).AllowAnonymous().DisableAntiforgery();
        ui.MapPost("/logout", Logout).AllowAnonymous().DisableAntiforgery();
        ui.MapGet("/", ListBatchesAsync);
        ui.MapGet("/batches/{batchId:guid}", GetBatchAsync);
        ui.MapGet("/jobs/{jobId:guid}", GetJobAsync);
        ui.MapGet("/jobs/{jobId:guid}/audio/{kind}", GetAudioAsync);
        ui.MapGet("/jobs/{jobId:guid}/waveform/{kind}", GetWaveformAsync);
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, ApiKeyStore keys, BrowserSession session, CancellationToken ct)
    {
        if (!context.Request.HasFormContentType)
            return new HtmlPage(BrowserPages.Login(null, "the login form was not sent"), StatusCodes.Status400BadRequest);
        var form = await context.Request.ReadFormAsync(ct);
        var key = form["key"].ToString().Trim();
        string? returnUrl = form["returnUrl"];
        if (key.Length == 0)
            return new HtmlPage(BrowserPages.Login(returnUrl, "enter an API key"), StatusCodes.Status400BadRequest);
        if (await keys.VerifyAsync(key, ct) is null)
            return new HtmlPage(BrowserPages.Login(returnUrl, "the API key is invalid or revoked"), StatusCodes.Status401Unauthorized);
        session.SignIn(context, key);
        return Results.Redirect(BrowserSession.SafeReturnUrl(returnUrl));
    }

    private static IResult Logout(HttpContext context)
    {
        BrowserSession.SignOut(context);
        return Results.Redirect(BrowserSession.LoginPath);
    }

    private static async Task<IResult> ListBatchesAsync(BrowserRepository repository, IOptions<BrowserOptions> options, int? page, CancellationToken ct)
    {
        var size = options.Value.PageSize;
        var index = Math.Clamp(page ?? 0, 0, 1_000_000);
        var batches = await repository.ListBatchesAsync(index * size, size, ct);
        return new HtmlPage(BrowserPages.Batches(batches, index, size));
    }

    private static async Task<IResult> GetBatchAsync(
        Guid batchId, string? state, int? after, BatchRepository batches, BrowserRepository repository, IOptions<BrowserOptions> options, CancellationToken ct)
    {
        if (await batches.GetProgressAsync(batchId, ct) is not { } progress) return NotFound($"There is no batch {batchId}.");
        if (state is not null && !PipelineState.Job.All.Contains(state)) state = null;
        var jobs = await repository.ListJobsAsync(batchId, state, Math.Max(after ?? 0, 0), options.Value.PageSize, ct);
        return new HtmlPage(BrowserPages.Batch(progress, jobs, state, after ?? 0, options.Value.PageSize));
    }

    private static async Task<IResult> GetJobAsync(Guid jobId, BrowserRepository repository, CancellationToken ct)
        => await repository.GetJobAsync(jobId, ct) is { } job ? new HtmlPage(BrowserPages.Job(job)) : NotFound($"There is no job {jobId}.");

    /// <summary>
    /// The job's input or generated speech, streamed from S3. Objects up to <see cref="BrowserOptions.RangeBufferMaxBytes"/>
    /// are read whole and served with Range support (the player can seek); larger ones are streamed as they come.
    /// </summary>
    private static async Task<IResult> GetAudioAsync(
        Guid jobId, string kind, HttpContext context, BrowserRepository repository, IObjectStore store, IOptions<BrowserOptions> options, CancellationToken ct)
    {
        if (await repository.GetJobAsync(jobId, ct) is not { } job) return NotFound($"There is no job {jobId}.");
        if (job.Audio(kind) is not { } location) return NotFound($"Job {jobId} has no {kind} audio.");
        var (bucket, key) = location;
        try
        {
            var head = await store.HeadAsync(bucket, key, ct);
            if (head is null) return NotFound($"s3://{bucket}/{key} no longer exists.");
            if (head.Size <= options.Value.RangeBufferMaxBytes)
            {
                var bytes = await store.GetBytesAsync(bucket, key, options.Value.RangeBufferMaxBytes, ct);
                return Results.File(bytes, AudioContentType.Of(bytes, key), enableRangeProcessing: true);
            }
            var stream = await store.OpenReadAsync(bucket, key, ct);
            context.Response.ContentLength = head.Size;
            return Results.Stream(stream, AudioContentType.Of([], key));
        }
        catch (Exception ex) when (ex is ObjectNotFoundException or ObjectTooLargeException)
        {
            return NotFound($"s3://{bucket}/{key} changed while it was read; reload the page.");
        }
    }

    /// <summary>An SVG of the audio's peaks; audio that cannot be drawn gets an SVG that says why (so the page still shows it).</summary>
    private static async Task<IResult> GetWaveformAsync(
        Guid jobId, string kind, BrowserRepository repository, IObjectStore store, IOptions<BrowserOptions> options, CancellationToken ct)
    {
        if (await repository.GetJobAsync(jobId, ct) is not { } job) return NotFound($"There is no job {jobId}.");
        if (job.Audio(kind) is not { } location) return NotFound($"Job {jobId} has no {kind} audio.");
        var (bucket, key) = location;
        var title = $"{kind} audio s3://{bucket}/{key}";
        var o = options.Value;
        string svg;
        try
        {
            var bytes = await store.GetBytesAsync(bucket, key, o.WaveformMaxBytes, ct);
            var audio = await AudioDecoder.DecodeAsync(bytes, null, new AudioDecodeLimits(o.WaveformMaxSeconds, o.WaveformMaxBytes, Waveform.DrawSampleRate), ct);
            svg = Waveform.ToSvg(Waveform.Peaks(audio.Samples, Waveform.Width), title);
        }
        catch (ObjectNotFoundException)
        {
            svg = Waveform.Message(title, "the object no longer exists");
        }
        catch (ObjectTooLargeException)
        {
            svg = Waveform.Message(title, $"over {o.WaveformMaxBytes} bytes: no waveform is drawn");
        }
        catch (AudioDecodeException ex)
        {
            svg = Waveform.Message(title, $"no waveform: {ex.Message}");
        }
        return Results.Text(svg, "image/svg+xml; charset=utf-8");
    }

    private static HtmlPage NotFound(string what) => new(BrowserPages.NotFound(what), StatusCodes.Status404NotFound);
}
