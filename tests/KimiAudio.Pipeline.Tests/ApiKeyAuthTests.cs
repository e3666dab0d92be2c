using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Pipeline.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KimiAudio.Pipeline.Tests;

/// <summary>API-key authentication of the orchestrator on real Postgres and a real orchestrator host.</summary>
public sealed class ApiKeyAuthTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.StartOrchestratorAsync();
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    private HttpClient Anonymous() => new() { BaseAddress = p.Api.BaseAddress };

    private static async Task AssertUnauthorizedAsync(HttpResponseMessage response, string expectedDetail)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Contains(expectedDetail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_request_without_a_key_gets_401_with_a_problem_body()
    {
        using var client = Anonymous();
        await AssertUnauthorizedAsync(await client.GetAsync($"/batches/{Guid.NewGuid()}"), "an API key is required");
        await AssertUnauthorizedAsync(await client.PostAsync("/batches", new StringContent("{}", Encoding.UTF8, "application/json")), "an API key is required");
        await AssertUnauthorizedAsync(await client.GetAsync("/no-such-endpoint"), "an API key is required");
    }

    /// <summary>
    /// Every mapped endpoint needs a key except the health checks, /metrics, the OpenAPI document and the browser's login
    /// and logout (logout only deletes the session cookie; it must work for an expired session too).
    /// </summary>
    [Fact]
    public void Only_health_metrics_openapi_and_the_browser_login_are_anonymous()
    {
        string[] allowed = ["/health", "/health/live", "/health/ready", "/metrics", "/openapi/{documentName}.json", "/ui/login", "/ui/logout"];
        var endpoints = p.Orchestrators[0].Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().ToList();
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/results/export");
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/ui/jobs/{jobId:guid}/audio/{kind}");
        var anonymous = endpoints
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Distinct().Order().ToList();
        Assert.Empty(anonymous.Except(allowed));
    }

    [Fact]
    public async Task A_wrong_or_malformed_key_gets_401_and_the_key_is_not_echoed()
    {
        var real = p.ApiKey;
        var wrongSecret = real[..^4] + (real[^4..] == "AAAA" ? "BBBB" : "AAAA");
        foreach (var key in new[] { wrongSecret, "kimia_000000000000_nope", "not-a-key" })
        {
            using var client = Anonymous();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var response = await client.GetAsync($"/batches/{Guid.NewGuid()}");
            await AssertUnauthorizedAsync(response, "invalid or revoked");
            Assert.DoesNotContain(key, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_revoked_key_gets_401()
    {
        var key = await p.CreateApiKeyAsync("soon-revoked");
        using var client = Anonymous();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/batches/{Guid.NewGuid()}")).StatusCode);

        await using var dataSource = NpgsqlDataSource.Create(p.ConnectionString);
        Assert.True(await new ApiKeyStore(dataSource).RevokeAsync("soon-revoked", CancellationToken.None));

        await AssertUnauthorizedAsync(await client.GetAsync($"/batches/{Guid.NewGuid()}"), "invalid or revoked");
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync($"/batches/{Guid.NewGuid()}")).StatusCode); // other keys still work
    }

    [Fact]
    public async Task A_valid_key_is_accepted_in_either_header_and_its_use_is_recorded()
    {
        await p.UploadAsync("in/a.wav", TestAudio.ToneWav(0.5));
        using var bearer = Anonymous();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", p.ApiKey);
        var created = await bearer.PostAsync("/batches", new StringContent(
            JsonSerializer.Serialize(new { source = $"s3://{p.Bucket}/in/", task = "asr" }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var batchId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("batchId").GetGuid();

        using var header = Anonymous();
        header.DefaultRequestHeaders.Add("X-Api-Key", p.ApiKey);
        var read = await header.GetAsync($"/batches/{batchId}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await read.Content.ReadAsStringAsync()).RootElement.GetProperty("totalJobs").GetInt32());

        Assert.NotNull(await p.QuerySingleAsync<DateTime?>("SELECT last_used_at FROM api_keys WHERE name = 'tests'"));
    }

    [Fact]
    public async Task Health_endpoints_need_no_key()
    {
        using var client = Anonymous();
        foreach (var path in new[] { "/health", "/health/live", "/health/ready" })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}");
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_key_is_stored_as_its_sha256_and_never_in_plain_text()
    {
        var rows = await p.QueryAsync<(long Id, string Name, string Prefix, byte[] Hash)>("SELECT id, name, prefix, hash FROM api_keys");
        var row = Assert.Single(rows);
        Assert.Equal("tests", row.Name);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(p.ApiKey)), row.Hash);
        Assert.StartsWith($"kimia_{row.Prefix}_", p.ApiKey);
        var secret = p.ApiKey[$"kimia_{row.Prefix}_".Length..];
        Assert.True(secret.Length >= 43, "the secret has 32 random bytes");

        // no column of the table holds the key or its secret, in any form Postgres can print
        var dump = await p.QuerySingleAsync<string>("SELECT string_agg(t::text, '|') FROM api_keys t");
        Assert.DoesNotContain(secret, dump);
        Assert.DoesNotContain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret))[..40], dump);
    }

    [Fact]
    public async Task An_unhandled_error_gives_a_500_problem_without_internals()
    {
        // the database goes away under the orchestrator: verifying the key throws inside the pipeline
        await using (var admin = new NpgsqlConnection(p.ConnectionString))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand("ALTER TABLE api_keys RENAME TO api_keys_gone", admin);
            await drop.ExecuteNonQueryAsync();
        }
        var response = await p.Api.GetAsync($"/batches/{Guid.NewGuid()}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("api_keys", body);
        Assert.DoesNotContain("Npgsql", body);
        Assert.DoesNotContain(" at ", body);
        Assert.DoesNotContain("Password", body, StringComparison.OrdinalIgnoreCase);
    }
}
