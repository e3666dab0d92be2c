using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Batches;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>
/// The results browser under /ui: batches with progress, a batch's jobs, a job with its audio players and waveforms, and
/// the login form. Pages need a signed-in session (or an API key header); audio is streamed from S3 by the orchestrator,
/// so the browser never sees an S3 address or credential. The login and logout forms carry an anti-forgery token (a POST
/// without a valid one gets 400), and sign-in attempts are rate limited per client address and per key prefix (429 with
/// Retry-After, <see cref="LoginRateLimiter"/>).
/// </summary>
public static class BrowserEndpoints
{
    public const string InputAudio = "input";
    public const string SpeechAudio = "speech";
    public const string LogoutPath = BrowserSession.PathPrefix + "/logout";
    public const string AntiforgeryCookieName = "kimia_antiforgery";
    public const string AntiforgeryFieldName = "__RequestVerificationToken";

    public static IServiceCollection AddResultsBrowser(this IServiceCollection services)
    {
        services.AddOptions<BrowserOptions>().BindConfiguration(BrowserOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LoginRateLimitOptions>().BindConfiguration(LoginRateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LoginRateLimiter>();
        services.AddSingleton<BrowserRepository>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookieName;
            o.Cookie.Path = BrowserSession.PathPrefix;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = AntiforgeryFieldName;
            o.SuppressXFrameOptionsHeader = true; // the pages' CSP already says frame-ancestors 'none'
        });
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
        // both forms are checked by hand (IAntiforgery), so a bad token answers a page that says so rather than a bare 400
        ui.MapPost("/login", LoginAsync).AllowAnonymous().DisableAntiforgery();
        ui.MapPost("/logout", LogoutAsync).AllowAnonymous().DisableAntiforgery();
        ui.MapGet("/", ListBatchesAsync);
        ui.MapGet("/batches/{batchId:guid}", GetBatchAsync);
        ui.MapGet("/jobs/{jobId:guid}", GetJobAsync);
        ui.MapGet("/jobs/{jobId:guid}/audio/{kind}", GetAudioAsync);
        ui.MapGet("/jobs/{jobId:guid}/waveform/{kind}", GetWaveformAsync);
        ui.MapGet("/jobs/{jobId:guid}/subtitles", Jobs.ResultEndpoints.GetSubtitlesAsync);
        return app;
    }

    private static async Task<IResult> LoginAsync(
        HttpContext context, ApiKeyStore keys, BrowserSession session, IAntiforgery antiforgery, LoginRateLimiter limiter, CancellationToken ct)
    {
        if (!context.Request.HasFormContentType)
            return new HtmlPage(BrowserPages.Login(null, "the login form was not sent"), StatusCodes.Status400BadRequest);
        var form = await context.Request.ReadFormAsync(ct);
        string? returnUrl = form["returnUrl"];
        if (!await antiforgery.IsRequestValidAsync(context))
            return new HtmlPage(BrowserPages.Login(returnUrl, StaleForm), StatusCodes.Status400BadRequest);
        var key = form["key"].ToString().Trim();
        if (key.Length == 0)
            return new HtmlPage(BrowserPages.Login(returnUrl, "enter an API key"), StatusCodes.Status400BadRequest);
        var attempt = limiter.TryAttempt(context.Connection.RemoteIpAddress, key);
        if (!attempt.Allowed)
        {
            context.Response.Headers.RetryAfter = attempt.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new HtmlPage(BrowserPages.Login(returnUrl, $"too many sign-in attempts for this {attempt.Limit}; try again in {attempt.RetryAfterSeconds} s"),
                StatusCodes.Status429TooManyRequests);
        }
        if (await keys.VerifyAsync(key, ct) is null)
            return new HtmlPage(BrowserPages.Login(returnUrl, "the API key is invalid or revoked"), StatusCodes.Status401Unauthorized);
        session.SignIn(context, key);
        return Results.Redirect(BrowserSession.SafeReturnUrl(returnUrl));
    }

    private const string StaleForm = "the form had no valid anti-forgery token (it is too old or came from another site); try again";

    private static async Task<IResult> LogoutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
            return new HtmlPage(BrowserPages.BadForm(StaleForm), StatusCodes.Status400BadRequest);
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

    /// <param name="t">Play the input audio from this second (a segment link: the player starts there).</param>
    private static async Task<IResult> GetJobAsync(Guid jobId, double? t, BrowserRepository repository, CancellationToken ct)
        => await repository.GetJobAsync(jobId, ct) is { } job
            ? new HtmlPage(BrowserPages.Job(job, t is { } s && double.IsFinite(s) && s >= 0 ? s : null))
            : NotFound($"There is no job {jobId}.");

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
        Guid jobId, string kind, BrowserRepository repository, IObjectStore store, IOptions<BrowserOptions> options, ILoggerFactory logs, CancellationToken ct)
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
            var limits = new AudioDecodeLimits(o.WaveformMaxSeconds, o.WaveformMaxBytes, Waveform.DrawSampleRate) { FfmpegPath = o.FfmpegPath };
            var audio = await AudioDecoder.DecodeAsync(bytes, null, limits, ct);
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
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // not the audio's fault (ffmpeg missing on this host, S3 unreachable, a decoder bug): the page still shows, the log says why
            logs.CreateLogger(typeof(BrowserEndpoints)).LogWarning(ex, "No waveform for {Kind} audio s3://{Bucket}/{Key}", kind, bucket, key);
            svg = Waveform.Message(title, ex is InvalidOperationException && ex.Message.Contains("ffmpeg", StringComparison.Ordinal)
                ? "no waveform: ffmpeg, needed to decode this format, is not installed on the orchestrator"
                : "no waveform: the audio could not be read just now (see the orchestrator's log)");
        }
        return Results.Text(svg, "image/svg+xml; charset=utf-8");
    }

    private static HtmlPage NotFound(string what) => new(BrowserPages.NotFound(what), StatusCodes.Status404NotFound);
}
