using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using KimiAudio.Audio;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Vad.Tests;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// Long speech through the real services and worker (VAD segmentation, the default; the deterministic engine): every
/// result carries its segments with times and text in GET /jobs/{id}, GET /results, the exports and the subtitles.
/// </summary>
public sealed partial class SegmentsTests : IAsyncLifetime
{
    private const int S = AudioDecoder.ModelSampleRate;
    private TestPipeline p = null!;
    private readonly SpokenCorpus speech = SpokenCorpus.Build(75, [0.5, 0.8, 1.2], seed: 5);

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await p.Api.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static List<(int Index, double Start, double End, string Text)> Segments(JsonElement result)
        => result.GetProperty("segments").EnumerateArray()
            .Select(s => (s.GetProperty("index").GetInt32(), s.GetProperty("start").GetDouble(), s.GetProperty("end").GetDouble(), s.GetProperty("text").GetString()!))
            .ToList();

    [Fact]
    public async Task Long_speech_is_cut_at_pauses_and_every_view_of_the_result_carries_its_segment_times_and_text()
    {
        await p.UploadAsync("talk/speech.wav", WavWriter.Pcm16Mono(speech.Samples, S));
        await p.UploadAsync("talk/short.wav", TestAudio.ToneWav(1.5));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/talk/", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
        await PipelineAssert.AllSucceededAsync(p, batchId, 2);
        var jobId = await p.QuerySingleAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @batchId AND input_key = 'talk/speech.wav'", new { batchId });

        // GET /jobs/{id}: consecutive segments of ≤ 30 s over the whole input, every cut inside an inserted silence
        var job = await GetJsonAsync($"/jobs/{jobId}");
        var result = job.GetProperty("result");
        var segments = Segments(result);
        Assert.InRange(segments.Count, 3, 8);
        Assert.Equal(0, segments[0].Start);
        Assert.Equal(speech.Samples.Length / (double)S, segments[^1].End);
        for (var i = 0; i < segments.Count; i++)
        {
            Assert.Equal(i, segments[i].Index);
            Assert.InRange(segments[i].End - segments[i].Start, 0.001, 30);
            if (i > 0) Assert.Equal(segments[i - 1].End, segments[i].Start);
            // the deterministic engine answers "task#segment:samples": the text is the segment's own
            Assert.Equal($"asr#{i}:{(int)Math.Round((segments[i].End - segments[i].Start) * S)}", segments[i].Text);
        }
        foreach (var cut in segments.Skip(1).Select(s => (int)Math.Round(s.Start * S)))
            Assert.True(speech.SilenceAt(cut) is not null, $"the cut at {cut / (double)S:F3} s is inside a sentence");
        Assert.Equal(string.Join(" ", segments.Select(s => s.Text)), result.GetProperty("text").GetString());

        // GET /results: the same segments; a short file is one segment
        var items = (await GetJsonAsync($"/results?batchId={batchId}")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(segments, Segments(items.Single(i => i.GetProperty("jobId").GetGuid() == jobId).GetProperty("result")));
        var shortOne = Segments(items.Single(i => i.GetProperty("jobId").GetGuid() != jobId).GetProperty("result"));
        Assert.Equal((0, 0.0, 1.5, "asr#0:24000"), Assert.Single(shortOne));

        // SRT and WebVTT: one cue per segment at its times
        var srt = await p.Api.GetStringAsync($"/jobs/{jobId}/subtitles?format=srt");
        var cues = SrtCue().Matches(srt);
        Assert.Equal(segments.Count, cues.Count);
        for (var i = 0; i < cues.Count; i++)
        {
            Assert.Equal((i + 1).ToString(CultureInfo.InvariantCulture), cues[i].Groups["n"].Value);
            Assert.Equal(segments[i].Start, ParseTime(cues[i].Groups["from"].Value), tolerance: 0.0005);
            Assert.Equal(segments[i].End, ParseTime(cues[i].Groups["to"].Value), tolerance: 0.0005);
            Assert.Equal(segments[i].Text, cues[i].Groups["text"].Value);
        }
        var vtt = await p.Api.GetAsync($"/jobs/{jobId}/subtitles?format=vtt");
        Assert.Equal("text/vtt", vtt.Content.Headers.ContentType?.MediaType);
        var vttText = await vtt.Content.ReadAsStringAsync();
        Assert.StartsWith("WEBVTT\n\n1\n00:00:00.000 --> ", vttText);
        Assert.Equal(segments.Count, Regex.Matches(vttText, " --> ").Count);
        var bad = await p.Api.GetAsync($"/jobs/{jobId}/subtitles?format=ass");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"format\"", await bad.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync($"/jobs/{Guid.NewGuid()}/subtitles")).StatusCode);

        // the exports carry the segments too
        var jsonl = (await p.Api.GetStringAsync($"/batches/{batchId}/export?format=jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(segments, Segments(jsonl.Single(r => r.GetProperty("job_id").GetGuid() == jobId)));
        var csv = await p.Api.GetStringAsync($"/batches/{batchId}/export?format=csv");
        Assert.Contains(",model_id,segments,", csv.Split("\r\n")[0] + ",");
        Assert.Contains($"\"\"end\"\" : {segments[0].End.ToString(CultureInfo.InvariantCulture)}", csv); // the JSON text, its quotes doubled

        // the job page lists the segments; clicking a start time plays the input from there (in a real Chromium)
        using (var driver = HeadlessChromium.Start())
        {
            driver.Navigate().GoToUrl(new Uri(p.Api.BaseAddress!, $"/ui/login?returnUrl=/ui/jobs/{jobId}").ToString());
            driver.FindElement(By.Id("key")).SendKeys(p.ApiKey);
            driver.FindElement(By.Id("login")).Click();
            WaitFor(driver, "document.querySelectorAll('#segments tr.segment').length > 0", "the segments table");
            var rows = driver.FindElements(By.CssSelector("#segments tr.segment"));
            Assert.Equal(segments.Count, rows.Count);
            Assert.Equal(segments[1].Text, rows[1].FindElement(By.CssSelector("td.text")).Text);
            rows[1].FindElement(By.CssSelector("a.seek")).Click();
            var start = segments[1].Start.ToString(CultureInfo.InvariantCulture);
            WaitFor(driver, $"document.querySelector('tr.segment[aria-current]') && document.querySelector('tr.segment[aria-current]').dataset.start == '{segments[1].Start:0.###}'", "the clicked segment marked");
            WaitFor(driver, $"(a => a.readyState >= 1 && a.currentTime >= {start} - 0.05 && a.currentTime < {start} + 5)(document.getElementById('audio-input'))",
                "the input player at the segment's start");
            Assert.Equal(0L, driver.ExecuteScript("return document.querySelectorAll('script').length;")); // still no script on the page
            driver.Quit();
        }

        // kimia subtitles writes the same SRT
        var cli = new Dictionary<string, string?> { ["KIMIA_API"] = p.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = p.ApiKey };
        var run = await KimiaCli.RunAsync(cli, "subtitles", jobId.ToString(), "--format", "srt");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(srt.Trim(), run.Stdout);
    }

    [Fact]
    public async Task The_fixed_mode_cuts_every_30_seconds_wherever_that_falls()
    {
        await p.UploadAsync("fixed/speech.wav", WavWriter.Pcm16Mono(speech.Samples, S));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync(new Dictionary<string, string?> { ["Segmentation:Mode"] = "Fixed" });
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/fixed/", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
        await PipelineAssert.AllSucceededAsync(p, batchId, 1);
        var item = Assert.Single((await GetJsonAsync($"/results?batchId={batchId}")).GetProperty("items").EnumerateArray());
        var segments = Segments(item.GetProperty("result"));
        Assert.Equal([0.0, 30.0, 60.0], segments.Select(s => s.Start));
        Assert.Equal([30.0, 60.0, speech.Samples.Length / (double)S], segments.Select(s => s.End));
    }

    private static void WaitFor(ChromeDriver driver, string expression, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (driver.ExecuteScript($"return !!({expression});") is true) return;
            Thread.Sleep(100);
        }
        Assert.Fail($"{what}: `{expression}` did not become true in 30 s on {driver.Url}");
    }

    private static double ParseTime(string t)
    {
        var m = Regex.Match(t, @"^(\d+):(\d\d):(\d\d)[,.](\d{3})$");
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 3600 + int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 60
            + int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) + int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) / 1000.0;
    }

    [GeneratedRegex(@"(?<n>\d+)\r\n(?<from>[\d:,]+) --> (?<to>[\d:,]+)\r\n(?<text>[^\r\n]*)\r\n")]
    private static partial Regex SrtCue();
}
