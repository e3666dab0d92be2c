using System.Net;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests.Browser;

[CollectionDefinition(Name)]
public sealed class ResultsBrowserCollection : ICollectionFixture<ResultsBrowserFixture>
{
    public const string Name = "results browser";
}

/// <summary>
/// One batch run once for every results browser test, through the live orchestrator and a worker with the deterministic
/// engine: a good file whose key holds markup (it must be shown as text) answered with text and speech, and a corrupt file
/// that fails with a reason.
/// </summary>
public sealed class ResultsBrowserFixture : IAsyncLifetime
{
    public const string GoodKey = "ui/<script>alert(1)</script> & \"quotes\".wav";
    public const string BadKey = "ui/corrupt.wav";
    public const double GoodSeconds = 1.5;

    public TestPipeline Pipeline { get; private set; } = null!;
    public Guid BatchId { get; private set; }
    public Guid GoodJobId { get; private set; }
    public Guid BadJobId { get; private set; }
    public string BadError { get; private set; } = "";
    public string GoodText { get; private set; } = "";
    /// <summary>The orchestrator the batch ran through (tests may start more).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Pipeline = await TestPipeline.CreateAsync();
        await Pipeline.UploadAsync(GoodKey, TestAudio.ToneWav(GoodSeconds));
        await Pipeline.UploadAsync(BadKey, TestAudio.Garbage());
        // the tests sign in with the fixture's key far more often than a person would; the limits have tests of their own
        await Pipeline.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Browser:LoginRateLimit:PerAddress"] = "10000",
            ["Browser:LoginRateLimit:PerKeyPrefix"] = "10000",
        });
        BaseAddress = Pipeline.Api.BaseAddress!;
        await Pipeline.StartWorkerAsync();
        BatchId = await Pipeline.SubmitAsync(new { source = $"s3://{Pipeline.Bucket}/ui/", task = "asr", outputType = "both" });
        await Pipeline.WaitForBatchAsync(BatchId, TimeSpan.FromMinutes(1));
        var jobs = (await Pipeline.QueryAsync<(Guid JobId, string Key, string State, string? Error)>(
            "SELECT job_id, input_key, state, error FROM jobs WHERE batch_id = @BatchId", new { BatchId })).ToDictionary(j => j.Key);
        Assert.Equal("succeeded", jobs[GoodKey].State);
        Assert.Equal("failed", jobs[BadKey].State);
        GoodJobId = jobs[GoodKey].JobId;
        BadJobId = jobs[BadKey].JobId;
        BadError = jobs[BadKey].Error ?? throw new InvalidOperationException("the failed job has no error reason");
        GoodText = await Pipeline.QuerySingleAsync<string>("SELECT text FROM results WHERE job_id = @GoodJobId", new { GoodJobId });
    }

    public async Task DisposeAsync() => await Pipeline.DisposeAsync();

    /// <summary>A client without a key that keeps cookies and does not follow redirects (so tests see them).</summary>
    public HttpClient Anonymous() => AnonymousAt(BaseAddress);

    /// <summary>
    /// The anti-forgery field of the form on <paramref name="path"/> (the login page, or any signed-in page for the logout
    /// form); the matching cookie stays in <paramref name="client"/>'s cookie container.
    /// </summary>
    public static async Task<string> FormTokenAsync(HttpClient client, string path = "/ui/login")
    {
        var html = await client.GetStringAsync(path);
        var field = System.Text.RegularExpressions.Regex.Match(html, $"name=\"{Orchestrator.Browser.BrowserEndpoints.AntiforgeryFieldName}\" value=\"([^\"]+)\"");
        Assert.True(field.Success, $"no anti-forgery field on {path}");
        return WebUtility.HtmlDecode(field.Groups[1].Value);
    }

    /// <summary>Fills in and sends the login form as a browser would: the page first (token and cookie), then the POST.</summary>
    public static async Task<HttpResponseMessage> LogInAsync(HttpClient client, string key, string returnUrl = "/ui")
    {
        var token = await FormTokenAsync(client);
        return await client.PostAsync("/ui/login", new FormUrlEncodedContent(
            [new("key", key), new("returnUrl", returnUrl), new(Orchestrator.Browser.BrowserEndpoints.AntiforgeryFieldName, token)]));
    }

    /// <summary>A client without a key that keeps cookies and does not follow redirects, for any orchestrator.</summary>
    public static HttpClient AnonymousAt(Uri baseAddress)
        => new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = baseAddress };

    /// <summary>A client that sends the fixture's API key in a header.</summary>
    public HttpClient WithKey()
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Add("X-Api-Key", Pipeline.ApiKey);
        return client;
    }
}
