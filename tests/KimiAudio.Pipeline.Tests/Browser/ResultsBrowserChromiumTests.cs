using System.Diagnostics;
using KimiAudio.Pipeline.Tests.Support;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace KimiAudio.Pipeline.Tests.Browser;

/// <summary>The results browser in a real headless Chromium: login form, pages, audio that loads and drawn waveforms.</summary>
[Collection(ResultsBrowserCollection.Name)]
public sealed class ResultsBrowserChromiumTests(ResultsBrowserFixture f) : IDisposable
{
    private readonly ChromeDriver driver = HeadlessChromium.Start();

    public void Dispose() => driver.Quit();

    private string Url(string path) => new Uri(f.BaseAddress, path).ToString();

    private void LogIn(string key)
    {
        var field = driver.FindElement(By.Id("key"));
        field.Clear();
        field.SendKeys(key);
        driver.FindElement(By.Id("login")).Click();
    }

    /// <summary>Polls a JavaScript expression in the page until it is true (media and images load asynchronously).</summary>
    private void WaitFor(string expression, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (driver.ExecuteScript($"return !!({expression});") is true) return;
            Thread.Sleep(100);
        }
        Assert.Fail($"{what}: `{expression}` did not become true in 20 s on {driver.Url}");
    }

    /// <summary>Waits for the navigation a click started (form posts redirect) to arrive at an address starting with <paramref name="prefix"/>.</summary>
    private void WaitForUrl(string prefix)
    {
        var clock = Stopwatch.StartNew();
        while (!driver.Url.StartsWith(prefix, StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(50);
        Assert.StartsWith(prefix, driver.Url);
    }

    [Fact]
    public void An_operator_logs_in_and_browses_batch_job_audio_and_waveforms()
    {
        // not signed in: every page leads to the login form, which refuses a wrong key with a message
        driver.Navigate().GoToUrl(Url($"/ui/jobs/{f.GoodJobId}"));
        Assert.StartsWith(Url("/ui/login"), driver.Url);
        LogIn("kimia_000000000000_wrong");
        Assert.Contains("the API key is invalid or revoked", driver.FindElement(By.Id("login-error")).Text);

        // signed in: back where the operator wanted to go (the job page); start from the batches list
        LogIn(f.Pipeline.ApiKey);
        WaitForUrl(Url($"/ui/jobs/{f.GoodJobId}"));
        Assert.Equal(Url($"/ui/jobs/{f.GoodJobId}"), driver.Url);
        driver.Navigate().GoToUrl(Url("/ui"));
        var row = driver.FindElement(By.CssSelector($"tr[data-batch='{f.BatchId}']"));
        Assert.Contains("2 / 2 finished", row.Text);
        Assert.Contains("1 succeeded · 1 failed", row.Text);
        Assert.Equal(2, row.FindElements(By.CssSelector(".bar span")).Count);

        // the batch page: the failed job's reason and the succeeded job's text; the markup in the key is shown as text
        row.FindElement(By.LinkText(f.BatchId.ToString())).Click();
        WaitForUrl(Url($"/ui/batches/{f.BatchId}"));
        var failed = driver.FindElement(By.CssSelector($"tr[data-job='{f.BadJobId}']"));
        Assert.Equal("failed", failed.FindElement(By.CssSelector(".state")).Text);
        Assert.Equal(f.BadError, failed.FindElement(By.CssSelector("td.error")).Text);
        var good = driver.FindElement(By.CssSelector($"tr[data-job='{f.GoodJobId}']"));
        Assert.StartsWith(f.GoodText, good.FindElement(By.CssSelector("td.text")).Text);
        Assert.Equal(ResultsBrowserFixture.GoodKey, good.FindElement(By.CssSelector("a.key")).Text);
        Assert.Equal(0L, driver.ExecuteScript("return document.querySelectorAll('main script').length;"));

        // the job page: both players load their media, both waveforms are drawn
        good.FindElement(By.CssSelector("a.key")).Click();
        WaitForUrl(Url($"/ui/jobs/{f.GoodJobId}"));
        Assert.Equal(f.GoodText, driver.FindElement(By.Id("result-text")).Text);
        Assert.Equal(2, driver.FindElements(By.TagName("audio")).Count);
        foreach (var kind in new[] { "input", "speech" })
        {
            WaitFor($"document.getElementById('audio-{kind}').readyState >= 1 && document.getElementById('audio-{kind}').duration > 0", $"{kind} audio");
            Assert.Null(driver.ExecuteScript($"return document.getElementById('audio-{kind}').error && document.getElementById('audio-{kind}').error.message;"));
            WaitFor($"document.getElementById('waveform-{kind}').complete && document.getElementById('waveform-{kind}').naturalWidth > 0", $"{kind} waveform");
        }
        var inputSeconds = Convert.ToDouble(driver.ExecuteScript("return document.getElementById('audio-input').duration;"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(ResultsBrowserFixture.GoodSeconds, inputSeconds, 2);

        driver.Navigate().GoToUrl(Url($"/ui/jobs/{f.GoodJobId}/waveform/speech"));
        var segments = Convert.ToInt64(driver.ExecuteScript("return (document.querySelector('path.peaks').getAttribute('d').match(/M/g) || []).length;"),
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Orchestrator.Browser.Waveform.Width, segments);

        // logging out ends the session
        driver.Navigate().GoToUrl(Url("/ui"));
        driver.FindElement(By.CssSelector("header button")).Click();
        WaitForUrl(Url("/ui/login"));
        driver.Navigate().GoToUrl(Url($"/ui/batches/{f.BatchId}"));
        Assert.StartsWith(Url("/ui/login"), driver.Url);
    }
}
