using System.Net;
using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Worker.TestHost;

namespace KimiAudio.Pipeline.Tests;

/// <summary>GET /batches, GET /results, GET /jobs/{id} and the OpenAPI document on a real orchestrator with finished batches.</summary>
public sealed class ResultsApiTests(OpsFixture f) : IClassFixture<OpsFixture>
{
    private TestPipeline P => f.P;

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await P.Api.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Asserts a 400 ValidationProblem whose errors name exactly <paramref name="field"/>; returns its message.</summary>
    private async Task<string> AssertBadRequestAsync(string path, string field)
    {
        var response = await P.Api.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"GET {path} answered {(int)response.StatusCode}: {body}");
        var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
        var named = Assert.Single(errors.EnumerateObject());
        Assert.Equal(field, named.Name);
        return named.Value[0].GetString()!;
    }

    private static List<JsonElement> Items(JsonElement page) => page.GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task Batches_are_listed_newest_first_with_counts_filtered_by_state_and_paged()
    {
        var all = Items(await GetJsonAsync("/batches"));
        Assert.Equal([f.CaptionBatch, f.AsrBatch], all.Select(b => b.GetProperty("batchId").GetGuid()));
        var asr = all[1];
        Assert.Equal(("asr", "completed", 6, 5, 1, 0), (asr.GetProperty("task").GetString(), asr.GetProperty("state").GetString(),
            asr.GetProperty("totalJobs").GetInt32(), asr.GetProperty("succeeded").GetInt32(), asr.GetProperty("failed").GetInt32(), asr.GetProperty("open").GetInt32()));

        var first = await GetJsonAsync("/batches?limit=1");
        Assert.Equal(f.CaptionBatch, Assert.Single(Items(first)).GetProperty("batchId").GetGuid());
        var next = first.GetProperty("next").GetString()!;
        var second = await GetJsonAsync($"/batches?limit=1&after={Uri.EscapeDataString(next)}");
        Assert.Equal(f.AsrBatch, Assert.Single(Items(second)).GetProperty("batchId").GetGuid());
        var third = await GetJsonAsync($"/batches?limit=1&after={Uri.EscapeDataString(second.GetProperty("next").GetString()!)}");
        Assert.Empty(Items(third));
        Assert.Equal(JsonValueKind.Null, third.GetProperty("next").ValueKind);

        Assert.Equal(2, Items(await GetJsonAsync("/batches?state=completed")).Count);
        Assert.Empty(Items(await GetJsonAsync("/batches?state=running")));
        Assert.Contains("submitting, running, completed, cancelled", await AssertBadRequestAsync("/batches?state=done", "state"));
        await AssertBadRequestAsync("/batches?limit=0", "limit");
        await AssertBadRequestAsync("/batches?limit=1001", "limit");
        await AssertBadRequestAsync("/batches?limit=ten", "limit");
        await AssertBadRequestAsync("/batches?after=yesterday", "after");
    }

    [Fact]
    public async Task Results_are_filtered_by_batch_task_state_and_text_and_paged_through_without_gaps()
    {
        var all = Items(await GetJsonAsync("/results?limit=1000"));
        Assert.Equal(9, all.Count);
        // newest batch first, then the batch's files in listing order
        Assert.Equal(Enumerable.Repeat(f.CaptionBatch, 3).Concat(Enumerable.Repeat(f.AsrBatch, 6)), all.Select(r => r.GetProperty("batchId").GetGuid()));

        var asr = Items(await GetJsonAsync($"/results?batchId={f.AsrBatch}"));
        Assert.Equal(6, asr.Count);
        var failed = Assert.Single(Items(await GetJsonAsync($"/results?batchId={f.AsrBatch}&state=failed")));
        Assert.Equal($"s3://{P.Bucket}/asr/broken, \"quoted\".wav", failed.GetProperty("input").GetString());
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("result").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(failed.GetProperty("error").GetString()));

        var captions = Items(await GetJsonAsync("/results?task=caption&state=succeeded"));
        Assert.Equal(3, captions.Count);
        Assert.All(captions, c => Assert.StartsWith("caption#0:", c.GetProperty("result").GetProperty("text").GetString()));

        // text search: case-insensitive substring; % and _ are literal characters, not wildcards
        var samples = (int)Math.Round(1.0 * 16000);
        var hit = Assert.Single(Items(await GetJsonAsync($"/results?q={Uri.EscapeDataString(DeterministicEngine.ExpectedText("ASR", 0, samples))}")));
        Assert.Equal($"s3://{P.Bucket}/asr/clip-2.wav", hit.GetProperty("input").GetString());
        Assert.Equal(5, Items(await GetJsonAsync("/results?q=ASR%23")).Count);
        Assert.Empty(Items(await GetJsonAsync("/results?q=%25")));
        Assert.Empty(Items(await GetJsonAsync("/results?q=_")));

        var paged = new List<Guid>();
        string? after = null;
        do
        {
            var page = await GetJsonAsync("/results?limit=2" + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}"));
            paged.AddRange(Items(page).Select(r => r.GetProperty("jobId").GetGuid()));
            after = page.GetProperty("next").GetString();
        }
        while (after is not null);
        Assert.Equal(all.Select(r => r.GetProperty("jobId").GetGuid()), paged);

        Assert.Contains("GUID", await AssertBadRequestAsync("/results?batchId=not-a-guid", "batchId"));
        Assert.Contains("succeeded", await AssertBadRequestAsync("/results?state=done", "state"));
        await AssertBadRequestAsync("/results?task=ASR%20!", "task");
        await AssertBadRequestAsync("/results?q=" + new string('x', 201), "q");
        await AssertBadRequestAsync("/results?limit=-5", "limit");
    }

    [Fact]
    public async Task A_batchs_job_and_result_pages_name_a_malformed_paging_or_state_field()
    {
        Assert.Contains("at least 0", await AssertBadRequestAsync($"/batches/{f.AsrBatch}/jobs?after=abc", "after"));
        await AssertBadRequestAsync($"/batches/{f.AsrBatch}/jobs?limit=0", "limit");
        await AssertBadRequestAsync($"/batches/{f.AsrBatch}/jobs?state=done", "state");
        await AssertBadRequestAsync($"/batches/{f.AsrBatch}/results?after=-1", "after");
        await AssertBadRequestAsync($"/batches/{f.AsrBatch}/results?limit=1001", "limit");

        var firstTwo = await GetJsonAsync($"/batches/{f.AsrBatch}/jobs?limit=2");
        var rest = await GetJsonAsync($"/batches/{f.AsrBatch}/jobs?after={firstTwo.GetProperty("next").GetInt32()}");
        Assert.Equal(2, Items(firstTwo).Count);
        Assert.Equal(4, Items(rest).Count);
    }

    [Fact]
    public async Task A_job_is_returned_with_its_result_and_an_unknown_job_is_404()
    {
        var (jobId, key, textTokens, audioTokens) = await P.QuerySingleAsync<(Guid, string, int, int)>("""
            SELECT r.job_id, r.input_key, cardinality(r.text_tokens), cardinality(r.audio_tokens) FROM results r
             WHERE r.batch_id = @batchId ORDER BY r.input_key LIMIT 1
            """, new { batchId = f.AsrBatch });
        var job = await GetJsonAsync($"/jobs/{jobId}");
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal($"s3://{P.Bucket}/{key}", job.GetProperty("input").GetString());
        var result = job.GetProperty("result");
        Assert.Equal(textTokens, result.GetProperty("textTokens").GetArrayLength());
        Assert.Equal(audioTokens, result.GetProperty("audioTokenCount").GetInt32());
        Assert.StartsWith($"s3://{P.Bucket}/kimia-results/", result.GetProperty("artifact").GetString());
        Assert.Equal(JsonValueKind.Object, result.GetProperty("timings").ValueKind);

        Assert.Equal(HttpStatusCode.NotFound, (await P.Api.GetAsync($"/jobs/{Guid.NewGuid()}")).StatusCode);
    }

    [Fact]
    public async Task Every_new_endpoint_needs_a_key()
    {
        using var anonymous = new HttpClient { BaseAddress = P.Api.BaseAddress };
        foreach (var path in new[] { "/batches", "/results", $"/jobs/{Guid.NewGuid()}", $"/batches/{f.AsrBatch}/export?format=csv", "/results/export" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"/batches/{f.AsrBatch}/retry-failed", null)).StatusCode);
    }

    [Fact]
    public async Task The_OpenAPI_document_is_served_without_a_key_lists_the_endpoints_and_declares_the_key()
    {
        using var anonymous = new HttpClient { BaseAddress = P.Api.BaseAddress };
        var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var path in new[]
        {
            "/batches", "/batches/{batchId}", "/batches/{batchId}/cancel", "/batches/{batchId}/retry-failed", "/batches/{batchId}/export",
            "/batches/{batchId}/jobs", "/batches/{batchId}/results", "/results", "/results/export", "/jobs/{jobId}", "/schedules",
        })
            Assert.Contains(path, paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/ui", StringComparison.Ordinal));
        Assert.True(doc.GetProperty("paths").GetProperty("/batches").TryGetProperty("post", out _));
        Assert.True(doc.GetProperty("paths").GetProperty("/batches/{batchId}/retry-failed").TryGetProperty("post", out _));
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("apiKey").GetProperty("name").GetString());
        Assert.Equal("header", schemes.GetProperty("apiKey").GetProperty("in").GetString());
        Assert.Equal(2, doc.GetProperty("security").GetArrayLength());
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_every_query_parameter_with_its_type_and_allowed_values_and_the_response_shapes()
    {
        using var anonymous = new HttpClient { BaseAddress = P.Api.BaseAddress };
        var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json")).RootElement;
        JsonElement Operation(string path, string method = "get") => doc.GetProperty("paths").GetProperty(path).GetProperty(method);
        Dictionary<string, JsonElement> Query(string path) => Operation(path).GetProperty("parameters").EnumerateArray()
            .Where(p => p.GetProperty("in").GetString() == "query").ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));
        static string[] Enum(JsonElement schema) => [.. schema.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!)];
        string[] jobStates = ["pending", "queued", "running", "succeeded", "failed", "cancelled", "skipped"];
        string[] formats = ["jsonl", "csv", "parquet", "nemo", "hf", "lhotse"];

        var batches = Query("/batches");
        Assert.Equal(["after", "limit", "state"], batches.Keys.Order());
        Assert.Equal(["submitting", "running", "completed", "cancelled"], Enum(batches["state"]));
        Assert.Equal(("integer", 1, 1000), (batches["limit"].GetProperty("type").GetString(), batches["limit"].GetProperty("minimum").GetInt32(), batches["limit"].GetProperty("maximum").GetInt32()));
        Assert.Equal("string", batches["after"].GetProperty("type").GetString());

        var results = Query("/results");
        Assert.Equal(["after", "batchId", "limit", "maxWer", "minWer", "q", "state", "task"], results.Keys.Order());
        Assert.Equal("number", results["minWer"].GetProperty("type").GetString());
        Assert.Equal(jobStates, Enum(results["state"]));
        Assert.Equal("uuid", results["batchId"].GetProperty("format").GetString());
        Assert.Equal(200, results["q"].GetProperty("maxLength").GetInt32());

        var export = Query("/results/export");
        Assert.Equal(["batchId", "format", "maxWer", "minWer", "q", "state", "task"], export.Keys.Order());
        Assert.Equal(formats, Enum(export["format"]));
        Assert.Equal("jsonl", export["format"].GetProperty("default").GetString());
        Assert.Equal(formats, Enum(Assert.Single(Query("/batches/{batchId}/export")).Value));

        var jobs = Query("/batches/{batchId}/jobs");
        Assert.Equal(["after", "limit", "state"], jobs.Keys.Order());
        Assert.Equal(jobStates, Enum(jobs["state"]));
        Assert.Equal("integer", jobs["after"].GetProperty("type").GetString());
        Assert.Equal(["after", "limit"], Query("/batches/{batchId}/results").Keys.Order());

        // Response shapes: the pages, the submit answer, the export's content types; the submit body.
        string ResponseRef(string path, string status, string method = "get")
            => Operation(path, method).GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
        JsonElement Schema(string reference) => doc.GetProperty("components").GetProperty("schemas").GetProperty(reference.Split('/')[^1]);
        var page = Schema(ResponseRef("/batches", "200"));
        Assert.True(page.GetProperty("properties").TryGetProperty("items", out _));
        Assert.True(page.GetProperty("properties").TryGetProperty("next", out _));
        Assert.True(Schema(ResponseRef("/results", "200")).GetProperty("properties").TryGetProperty("items", out _));
        Assert.True(Schema(ResponseRef("/batches/{batchId}/jobs", "200")).GetProperty("properties").TryGetProperty("next", out _));
        Assert.True(Schema(ResponseRef("/batches", "201", "post")).GetProperty("properties").TryGetProperty("batchId", out _));
        Assert.True(Schema(ResponseRef("/batches/{batchId}/retry-failed", "200", "post")).GetProperty("properties").TryGetProperty("requeuedJobs", out _));
        Assert.True(Operation("/batches", "get").GetProperty("responses").TryGetProperty("400", out _));
        Assert.True(Schema(ResponseRef("/schedules/{schedule}", "200")).GetProperty("properties").TryGetProperty("recentFirings", out _));
        Assert.True(Schema(ResponseRef("/schedules", "201", "post")).GetProperty("properties").TryGetProperty("nextFireAt", out _));
        Assert.True(Schema(ResponseRef("/jobs/{jobId}", "200")).GetProperty("properties").TryGetProperty("result", out _));
        var exportTypes = Operation("/results/export").GetProperty("responses").GetProperty("200").GetProperty("content").EnumerateObject().Select(c => c.Name).ToList();
        Assert.Contains("application/x-ndjson", exportTypes);
        Assert.Contains("application/vnd.apache.parquet", exportTypes);
        Assert.Contains(exportTypes, t => t.StartsWith("text/csv", StringComparison.Ordinal));
        var submitBody = Schema(Operation("/batches", "post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!);
        Assert.True(submitBody.GetProperty("properties").TryGetProperty("source", out _));
    }
}
