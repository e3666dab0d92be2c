using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Orchestrator.Auth;
using Npgsql;

namespace KimiAudio.Pipeline.Tests.Browser;

/// <summary>The results browser over plain HTTP (no browser): pages, escaping, audio, waveforms and the login cookie.</summary>
[Collection(ResultsBrowserCollection.Name)]
public sealed class ResultsBrowserHttpTests(ResultsBrowserFixture f)
{
    private static Task<HttpResponseMessage> LogInAsync(HttpClient client, string key, string returnUrl = "/ui")
        => ResultsBrowserFixture.LogInAsync(client, key, returnUrl);

    [Fact]
    public async Task An_unauthenticated_page_redirects_to_login_but_the_api_still_answers_401()
    {
        using var client = f.Anonymous();
        var page = await client.GetAsync($"/ui/batches/{f.BatchId}?state=failed");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal($"/ui/login?returnUrl={Uri.EscapeDataString($"/ui/batches/{f.BatchId}?state=failed")}", page.Headers.Location?.OriginalString);

        var audio = await client.GetAsync($"/ui/jobs/{f.GoodJobId}/audio/input");
        Assert.Equal(HttpStatusCode.Redirect, audio.StatusCode);

        var api = await client.GetAsync($"/batches/{f.BatchId}");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);

        var login = await client.GetAsync("/ui/login?returnUrl=%2Fui%2Fbatches");
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var html = await login.Content.ReadAsStringAsync();
        Assert.Contains("<form class=\"login\" method=\"post\" action=\"/ui/login\"><input type=\"hidden\" name=\"__RequestVerificationToken\"", html);
        Assert.Contains("name=\"returnUrl\" value=\"/ui/batches\"", html);
    }

    [Fact]
    public async Task Unknown_jobs_and_batches_get_404_pages()
    {
        using var client = f.WithKey();
        var unknown = Guid.NewGuid();
        foreach (var path in new[] { $"/ui/jobs/{unknown}", $"/ui/batches/{unknown}", $"/ui/jobs/{unknown}/audio/input", $"/ui/jobs/{unknown}/waveform/input" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains(unknown.ToString(), await response.Content.ReadAsStringAsync());
        }
        // the failed job has no generated speech, and "other" is no audio kind
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/ui/jobs/{f.BadJobId}/audio/speech")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/ui/jobs/{f.GoodJobId}/audio/other")).StatusCode);
    }

    [Fact]
    public async Task Database_text_is_html_encoded_on_every_page()
    {
        using var client = f.WithKey();
        var encodedKey = "ui/&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;.wav";
        foreach (var path in new[] { $"/ui/batches/{f.BatchId}", $"/ui/jobs/{f.GoodJobId}" })
        {
            var response = await client.GetAsync(path);
            var html = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(encodedKey, html);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        }
    }

    [Fact]
    public async Task The_batch_page_shows_progress_the_failure_reason_and_the_result_text()
    {
        using var client = f.WithKey();
        var html = await client.GetStringAsync($"/ui/batches/{f.BatchId}");
        Assert.Contains("2 / 2 finished", html);
        Assert.Contains("1 succeeded · 1 failed", html);
        Assert.Contains(Orchestrator.Browser.Html.Encode(f.BadError), html);
        Assert.Contains(f.GoodText, html);

        var failedOnly = await client.GetStringAsync($"/ui/batches/{f.BatchId}?state=failed");
        Assert.Contains($"data-job=\"{f.BadJobId}\"", failedOnly);
        Assert.DoesNotContain($"data-job=\"{f.GoodJobId}\"", failedOnly);

        var list = await client.GetStringAsync("/ui");
        Assert.Contains($"data-batch=\"{f.BatchId}\"", list);
        Assert.Contains("class=\"s-succeeded\" style=\"width:50%\"", list);
    }

    [Fact]
    public async Task Audio_is_served_with_its_content_type_and_range_support()
    {
        using var client = f.WithKey();
        var input = await client.GetAsync($"/ui/jobs/{f.GoodJobId}/audio/input");
        Assert.Equal(HttpStatusCode.OK, input.StatusCode);
        Assert.Equal("audio/wav", input.Content.Headers.ContentType?.MediaType);
        Assert.Equal(44 + 2 * (int)(ResultsBrowserFixture.GoodSeconds * 16000), (await input.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal("bytes", input.Headers.AcceptRanges.Single());

        var speech = await client.GetAsync($"/ui/jobs/{f.GoodJobId}/audio/speech");
        Assert.Equal(HttpStatusCode.OK, speech.StatusCode);
        Assert.Equal("audio/wav", speech.Content.Headers.ContentType?.MediaType);
        var wav = await speech.Content.ReadAsByteArrayAsync();
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal(24000, BitConverter.ToInt32(wav, 24)); // generated speech is 24 kHz

        using var range = new HttpRequestMessage(HttpMethod.Get, $"/ui/jobs/{f.GoodJobId}/audio/speech");
        range.Headers.Range = new RangeHeaderValue(4, 11);
        var partial = await client.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(wav[4..12], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal(wav.Length, partial.Content.Headers.ContentRange?.Length);
    }

    [Fact]
    public async Task Waveforms_are_svg_with_drawn_peaks_and_corrupt_audio_gets_a_reason()
    {
        using var client = f.WithKey();
        foreach (var kind in new[] { "input", "speech" })
        {
            var response = await client.GetAsync($"/ui/jobs/{f.GoodJobId}/waveform/{kind}");
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
            var svg = XDocument.Parse(await response.Content.ReadAsStringAsync());
            XNamespace ns = "http://www.w3.org/2000/svg";
            var d = svg.Descendants(ns + "path").Single(p => (string?)p.Attribute("class") == "peaks").Attribute("d")!.Value;
            var columns = Regex.Matches(d, @"M([\d.]+) ([\d.]+)V([\d.]+)").Select(m => (Top: Number(m.Groups[2].Value), Bottom: Number(m.Groups[3].Value))).ToList();
            Assert.Equal(Orchestrator.Browser.Waveform.Width, columns.Count);
            // tones of amplitude 0.244 (input) and 0.25 (speech) around the middle (50) of a 100 px picture: peaks at 50 -/+ 12
            Assert.InRange(columns.Min(c => c.Top), 36, 40);
            Assert.InRange(columns.Max(c => c.Bottom), 60, 64);
        }
        var corrupt = await client.GetStringAsync($"/ui/jobs/{f.BadJobId}/waveform/input");
        Assert.Contains("no waveform:", corrupt);
        Assert.DoesNotContain("class=\"peaks\"", corrupt);
    }

    private static double Number(string text) => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_wrong_key_is_refused_and_a_right_one_gives_a_cookie_that_works_for_the_ui_only()
    {
        using var client = f.Anonymous();
        var wrong = await LogInAsync(client, "kimia_000000000000_nope");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("the API key is invalid or revoked", await wrong.Content.ReadAsStringAsync());
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        var ok = await LogInAsync(client, f.Pipeline.ApiKey, $"/ui/batches/{f.BatchId}");
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal($"/ui/batches/{f.BatchId}", ok.Headers.Location?.OriginalString);
        var cookie = ok.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith(BrowserSession.CookieName + "=", cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/ui", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(f.Pipeline.ApiKey, cookie); // encrypted, not the key itself

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/ui/batches/{f.BatchId}")).StatusCode);
        // the same cookie sent to the JSON API by hand is not accepted there
        using var api = new HttpRequestMessage(HttpMethod.Get, $"/batches/{f.BatchId}");
        api.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var bare = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = f.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await bare.SendAsync(api)).StatusCode);

        // a tampered cookie is no session
        using var tampered = new HttpRequestMessage(HttpMethod.Get, "/ui");
        tampered.Headers.Add("Cookie", cookie.Split(';')[0][..^3] + "xyz");
        Assert.Equal(HttpStatusCode.Redirect, (await bare.SendAsync(tampered)).StatusCode);

        var token = await ResultsBrowserFixture.FormTokenAsync(client, "/ui"); // the logout form on a signed-in page
        var logout = await client.PostAsync("/ui/logout", new FormUrlEncodedContent([new(Orchestrator.Browser.BrowserEndpoints.AntiforgeryFieldName, token)]));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/ui")).StatusCode);
    }

    [Fact]
    public async Task Login_never_redirects_off_the_browser()
    {
        foreach (var target in new[] { "https://evil.example/", "//evil.example/ui", "/batches", "/uix", "/ui\\..\\x", "/ui/login" })
        {
            using var client = f.Anonymous();
            var response = await LogInAsync(client, f.Pipeline.ApiKey, target);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/ui", response.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task Revoking_the_key_ends_its_session()
    {
        var key = await f.Pipeline.CreateApiKeyAsync("browser-revoked");
        using var client = f.Anonymous();
        Assert.Equal(HttpStatusCode.Redirect, (await LogInAsync(client, key)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ui")).StatusCode);

        await using var dataSource = NpgsqlDataSource.Create(f.Pipeline.ConnectionString);
        Assert.True(await new ApiKeyStore(dataSource).RevokeAsync("browser-revoked", CancellationToken.None));

        var after = await client.GetAsync("/ui");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/ui/login", after.Headers.Location?.OriginalString);
        Assert.Contains(after.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BrowserSession.CookieName + "=;", StringComparison.Ordinal)); // cleared
    }

    [Fact]
    public async Task Replicas_sharing_a_key_ring_accept_each_others_sessions()
    {
        var ring = Directory.CreateTempSubdirectory("kimia-key-ring-");
        try
        {
            var settings = new Dictionary<string, string?> { ["Browser:SessionKeyRingPath"] = ring.FullName };
            await f.Pipeline.StartOrchestratorAsync(settings);
            var first = new Uri(f.Pipeline.Orchestrators[^1].Urls.First());
            await f.Pipeline.StartOrchestratorAsync(settings);
            var second = new Uri(f.Pipeline.Orchestrators[^1].Urls.First());

            using var login = ResultsBrowserFixture.AnonymousAt(first);
            using var bare = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
            var response = await LogInAsync(login, f.Pipeline.ApiKey);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            var cookie = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            Assert.NotEmpty(ring.GetFiles("key-*.xml"));

            foreach (var (address, expected) in new[] { (second, HttpStatusCode.OK), (f.BaseAddress, HttpStatusCode.Redirect) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/ui"));
                request.Headers.Add("Cookie", cookie);
                Assert.Equal(expected, (await bare.SendAsync(request)).StatusCode); // the fixture's orchestrator has another key ring
            }
        }
        finally
        {
            ring.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Jobs_and_batches_are_paged()
    {
        await f.Pipeline.StartOrchestratorAsync(new Dictionary<string, string?> { ["Browser:PageSize"] = "1" });
        using var client = new HttpClient { BaseAddress = new Uri(f.Pipeline.Orchestrators[^1].Urls.First()) };
        client.DefaultRequestHeaders.Add("X-Api-Key", f.Pipeline.ApiKey);
        var seen = new List<Guid>();
        var pages = 0;
        for (string? url = $"/ui/batches/{f.BatchId}"; url is not null && pages < 5; pages++)
        {
            var html = await client.GetStringAsync(url);
            seen.AddRange(Regex.Matches(html, "data-job=\"([0-9a-f-]+)\"").Select(m => Guid.Parse(m.Groups[1].Value)));
            var next = Regex.Match(html, "id=\"next-page\" href=\"([^\"]+)\"");
            url = next.Success ? WebUtility.HtmlDecode(next.Groups[1].Value) : null;
        }
        var bySeq = await f.Pipeline.QueryAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @BatchId ORDER BY seq", new { f.BatchId });
        Assert.Equal(bySeq, seen); // one job per page in listing order
        Assert.Equal(3, pages); // the last (third) page is empty and has no next link

        var first = await client.GetStringAsync("/ui");
        Assert.Single(Regex.Matches(first, "data-batch="));
        Assert.Contains("href=\"/ui?page=1\"", first);
    }

    [Fact]
    public async Task Audio_over_the_limits_is_streamed_without_ranges_and_gets_no_waveform()
    {
        await f.Pipeline.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Browser:RangeBufferMaxBytes"] = "1000",
            ["Browser:WaveformMaxSeconds"] = "1",
        });
        using var client = new HttpClient { BaseAddress = new Uri(f.Pipeline.Orchestrators[^1].Urls.First()) };
        client.DefaultRequestHeaders.Add("X-Api-Key", f.Pipeline.ApiKey);

        var streamed = await client.GetAsync($"/ui/jobs/{f.GoodJobId}/audio/input", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("audio/wav", streamed.Content.Headers.ContentType?.MediaType); // from the name: the bytes are not read first
        Assert.Empty(streamed.Headers.AcceptRanges);
        var expected = await f.Pipeline.Store.GetBytesAsync(f.Pipeline.Bucket, ResultsBrowserFixture.GoodKey, 1 << 20, CancellationToken.None);
        Assert.Equal(expected.Length, streamed.Content.Headers.ContentLength);
        Assert.Equal(expected, await streamed.Content.ReadAsByteArrayAsync());

        var svg = await client.GetStringAsync($"/ui/jobs/{f.GoodJobId}/waveform/input"); // 1.5 s, over the 1 s limit
        Assert.Contains("no waveform:", svg);
        Assert.DoesNotContain("class=\"peaks\"", svg);
    }
}
