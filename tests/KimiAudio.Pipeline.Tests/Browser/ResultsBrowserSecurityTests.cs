using System.Net;
using System.Net.Sockets;
using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Browser;
using KimiAudio.Pipeline.Tests.Support;
using Microsoft.Extensions.Options;

namespace KimiAudio.Pipeline.Tests.Browser;

/// <summary>
/// The results browser's forms and sign-in under attack, over HTTP on the live orchestrator: anti-forgery tokens on the
/// login and logout forms, login rate limits per client address and per key prefix, and waveforms that never answer 500.
/// </summary>
[Collection(ResultsBrowserCollection.Name)]
public sealed class ResultsBrowserSecurityTests(ResultsBrowserFixture f)
{
    private const string Field = BrowserEndpoints.AntiforgeryFieldName;

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields)
        => new(fields.Select(x => new KeyValuePair<string, string>(x.Name, x.Value)));

    /// <summary>A cookie-keeping client whose connections come from <paramref name="local"/> (any 127.x address is this host).</summary>
    private static HttpClient From(string local, Uri baseAddress) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = true,
        CookieContainer = new CookieContainer(),
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(local), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    }) { BaseAddress = baseAddress };

    private async Task<Uri> StartOrchestratorAsync(Dictionary<string, string?> settings)
    {
        await f.Pipeline.StartOrchestratorAsync(settings);
        return new Uri(f.Pipeline.Orchestrators[^1].Urls.First());
    }

    /// <summary>The fixture's key with its secret part replaced: same prefix, wrong key.</summary>
    private string WrongSecretOfTheFixtureKey() => f.Pipeline.ApiKey[..(f.Pipeline.ApiKey.LastIndexOf('_') + 1)] + "not-the-secret";

    [Fact]
    public async Task The_login_form_carries_an_antiforgery_token_and_a_post_without_a_valid_one_gets_400()
    {
        using var client = f.Anonymous();
        var page = await client.GetAsync("/ui/login");
        var cookie = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(BrowserEndpoints.AntiforgeryCookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/ui", cookie, StringComparison.OrdinalIgnoreCase);
        var token = await ResultsBrowserFixture.FormTokenAsync(client);

        // no token, even with the right key: 400, no session
        var bare = await client.PostAsync("/ui/login", Form(("key", f.Pipeline.ApiKey), ("returnUrl", "/ui")));
        Assert.Equal(HttpStatusCode.BadRequest, bare.StatusCode);
        Assert.Contains("no valid anti-forgery token", await bare.Content.ReadAsStringAsync());
        Assert.DoesNotContain(bare.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith(BrowserSession.CookieName + "=", StringComparison.Ordinal));

        // a forged token, and a real token without its cookie (what another site's page could send): 400
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/ui/login", Form(("key", f.Pipeline.ApiKey), (Field, "forged")))).StatusCode);
        using var elsewhere = f.Anonymous();
        Assert.Equal(HttpStatusCode.BadRequest, (await elsewhere.PostAsync("/ui/login", Form(("key", f.Pipeline.ApiKey), (Field, token)))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.GetAsync("/ui")).StatusCode); // still not signed in

        var ok = await client.PostAsync("/ui/login", Form(("key", f.Pipeline.ApiKey), ("returnUrl", "/ui"), (Field, token)));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ui")).StatusCode);
    }

    [Fact]
    public async Task The_logout_form_carries_a_token_and_a_post_without_one_gets_400_and_keeps_the_session()
    {
        using var client = f.Anonymous();
        Assert.Equal(HttpStatusCode.Redirect, (await ResultsBrowserFixture.LogInAsync(client, f.Pipeline.ApiKey)).StatusCode);

        // what a page on another site could do: post to /ui/logout without the token
        var forced = await client.PostAsync("/ui/logout", null);
        Assert.Equal(HttpStatusCode.BadRequest, forced.StatusCode);
        Assert.Contains("no valid anti-forgery token", await forced.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/ui/logout", Form((Field, "forged")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ui")).StatusCode);

        var token = await ResultsBrowserFixture.FormTokenAsync(client, $"/ui/batches/{f.BatchId}");
        var logout = await client.PostAsync("/ui/logout", Form((Field, token)));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal(BrowserSession.LoginPath, logout.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/ui")).StatusCode);
    }

    [Fact]
    public async Task Login_attempts_are_limited_per_client_address_with_429_and_retry_after()
    {
        var address = await StartOrchestratorAsync(new()
        {
            ["Browser:LoginRateLimit:PerAddress"] = "3",
            ["Browser:LoginRateLimit:PerKeyPrefix"] = "1000",
            ["Browser:LoginRateLimit:Window"] = "00:00:03",
        });
        using var first = From("127.0.0.1", address);
        using var second = From("127.0.0.2", address);

        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await ResultsBrowserFixture.LogInAsync(first, $"kimia_00000000000{i}_guess")).StatusCode);
        var limited = await ResultsBrowserFixture.LogInAsync(first, f.Pipeline.ApiKey); // even the right key waits
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta ?? throw new Xunit.Sdk.XunitException("no Retry-After seconds");
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        var page = await limited.Content.ReadAsStringAsync();
        Assert.Contains($"too many sign-in attempts for this client address; try again in {(int)retryAfter.TotalSeconds} s", page);
        Assert.Contains("id=\"login\"", page); // the form is shown again, to use later

        // another address is not held up by the first one's attempts
        Assert.Equal(HttpStatusCode.Redirect, (await ResultsBrowserFixture.LogInAsync(second, f.Pipeline.ApiKey)).StatusCode);

        // once the oldest attempt leaves the window, the first address may try again
        await Task.Delay(retryAfter + TimeSpan.FromMilliseconds(300));
        Assert.Equal(HttpStatusCode.Redirect, (await ResultsBrowserFixture.LogInAsync(first, f.Pipeline.ApiKey)).StatusCode);
    }

    [Fact]
    public async Task Login_attempts_at_one_key_prefix_are_limited_across_addresses()
    {
        var address = await StartOrchestratorAsync(new()
        {
            ["Browser:LoginRateLimit:PerAddress"] = "1000",
            ["Browser:LoginRateLimit:PerKeyPrefix"] = "2",
            ["Browser:LoginRateLimit:Window"] = "00:10:00",
        });
        using var first = From("127.0.0.1", address);
        using var second = From("127.0.0.3", address);
        var guess = WrongSecretOfTheFixtureKey();

        Assert.Equal(HttpStatusCode.Unauthorized, (await ResultsBrowserFixture.LogInAsync(first, guess)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ResultsBrowserFixture.LogInAsync(second, guess)).StatusCode);
        var limited = await ResultsBrowserFixture.LogInAsync(first, guess);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(600));
        Assert.Contains("too many sign-in attempts for this API key", await limited.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ResultsBrowserFixture.LogInAsync(second, guess)).StatusCode);

        // other keys, from the same addresses, are not held up
        Assert.Equal(HttpStatusCode.Unauthorized, (await ResultsBrowserFixture.LogInAsync(first, "kimia_000000000000_other")).StatusCode);
        var other = await f.Pipeline.CreateApiKeyAsync("browser-rate-other");
        Assert.Equal(HttpStatusCode.Redirect, (await ResultsBrowserFixture.LogInAsync(second, other)).StatusCode);
    }

    [Theory]
    [InlineData("PerAddress", "0")]
    [InlineData("PerKeyPrefix", "-1")]
    [InlineData("Window", "00:00:00")]
    public async Task An_orchestrator_with_an_invalid_login_rate_limit_refuses_to_start(string field, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => f.Pipeline.StartOrchestratorAsync(new Dictionary<string, string?> { [$"Browser:LoginRateLimit:{field}"] = value }));
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public async Task A_waveform_that_cannot_be_drawn_is_the_no_waveform_picture_never_a_500()
    {
        // no ffmpeg on the host: the corrupt input (not WAV, so it goes to ffmpeg) gets the picture, not an error
        var noFfmpeg = await StartOrchestratorAsync(new() { ["Browser:FfmpegPath"] = "/nonexistent/ffmpeg" });
        using (var client = new HttpClient { BaseAddress = noFfmpeg })
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", f.Pipeline.ApiKey);
            var svg = await NoWaveformAsync(client, f.BadJobId);
            Assert.Contains("ffmpeg, needed to decode this format, is not installed", svg);
        }

        using var api = f.WithKey();
        var garbage = await f.Pipeline.Store.GetBytesAsync(f.Pipeline.Bucket, ResultsBrowserFixture.BadKey, 1 << 20, CancellationToken.None);
        try
        {
            // a FLAC cut inside its header: ffmpeg runs and fails
            await f.Pipeline.UploadAsync(ResultsBrowserFixture.BadKey, [.. "fLaC"u8, 0, 0, 0, 34, 0x10, 0x00, 0x10]);
            Assert.Contains("no waveform: flac input could not be decoded", await NoWaveformAsync(api, f.BadJobId));

            // a WAV whose only sample is cut in half
            await f.Pipeline.UploadAsync(ResultsBrowserFixture.BadKey, TestAudio.ToneWav(1)[..45]);
            Assert.Contains("less than one sample frame", await NoWaveformAsync(api, f.BadJobId));
        }
        finally
        {
            await f.Pipeline.UploadAsync(ResultsBrowserFixture.BadKey, garbage);
        }

        // the object is gone (the job points at a key that no longer exists)
        const string Gone = "ui/gone-since.wav";
        await f.Pipeline.QueryAsync<Guid>("UPDATE jobs SET input_key = @Gone WHERE job_id = @BadJobId RETURNING job_id", new { Gone, f.BadJobId });
        try
        {
            Assert.Contains("the object no longer exists", await NoWaveformAsync(api, f.BadJobId));
        }
        finally
        {
            await f.Pipeline.QueryAsync<Guid>("UPDATE jobs SET input_key = @BadKey WHERE job_id = @BadJobId RETURNING job_id",
                new { ResultsBrowserFixture.BadKey, f.BadJobId });
        }
    }

    private static async Task<string> NoWaveformAsync(HttpClient client, Guid jobId)
    {
        var response = await client.GetAsync($"/ui/jobs/{jobId}/waveform/input");
        var svg = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {svg}");
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("class=\"peaks\"", svg);
        System.Xml.Linq.XDocument.Parse(svg); // a well-formed picture
        return svg;
    }
}
