using System.Net;
using System.Net.Http.Headers;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>`kimia keys create|list|revoke` against the real database, checked through a real orchestrator.</summary>
public sealed class CliKeysTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private Dictionary<string, string?> env = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        env = new Dictionary<string, string?> { ["POSTGRES_CONNECTION"] = p.ConnectionString };
        await p.StartOrchestratorAsync();
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    private async Task<HttpStatusCode> GetWithKeyAsync(string key)
    {
        using var client = new HttpClient { BaseAddress = p.Api.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return (await client.GetAsync($"/batches/{Guid.NewGuid()}")).StatusCode;
    }

    [Fact]
    public async Task A_created_key_works_is_listed_without_its_secret_and_stops_working_when_revoked()
    {
        var created = await KimiaCli.RunAsync(env, "keys", "create", "ci-runner");
        Assert.True(created.ExitCode == 0, created.ToString());
        var key = created.Stdout;
        Assert.StartsWith("kimia_", key);
        Assert.Equal(HttpStatusCode.NotFound, await GetWithKeyAsync(key)); // authenticated: the batch just doesn't exist

        var listed = await KimiaCli.RunAsync(env, "keys", "list");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var line = Assert.Single(listed.Stdout.Split('\n'), l => l.Contains("ci-runner"));
        Assert.Contains(key.Split('_')[1], line); // the prefix
        Assert.Contains("active", line);
        Assert.DoesNotContain(key[^20..], listed.Stdout);

        var revoked = await KimiaCli.RunAsync(env, "keys", "revoke", "ci-runner");
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithKeyAsync(key));
        Assert.Contains("revoked", Assert.Single((await KimiaCli.RunAsync(env, "keys", "list")).Stdout.Split('\n'), l => l.Contains("ci-runner")));
        Assert.Equal(HttpStatusCode.NotFound, await GetWithKeyAsync(p.ApiKey)); // the other key still works
    }

    [Fact]
    public async Task Revoking_by_id_works_and_unknown_keys_or_bad_names_fail_with_a_message()
    {
        var created = await KimiaCli.RunAsync(env, "keys", "create", "by-id");
        var id = await p.QuerySingleAsync<long>("SELECT id FROM api_keys WHERE name = 'by-id'");
        var revoked = await KimiaCli.RunAsync(env, "keys", "revoke", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithKeyAsync(created.Stdout));

        var unknown = await KimiaCli.RunAsync(env, "keys", "revoke", "nobody");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no active key with id or name 'nobody'", unknown.Stderr);

        var badName = await KimiaCli.RunAsync(env, "keys", "create", "9 lives");
        Assert.Equal(1, badName.ExitCode);
        Assert.Contains("starts with a letter", badName.Stderr);
        Assert.Equal("", badName.Stdout);

        var duplicate = await KimiaCli.RunAsync(env, "keys", "create", "tests");
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("an active key named 'tests' exists", duplicate.Stderr);

        var noDatabase = await KimiaCli.RunAsync(new Dictionary<string, string?> { ["POSTGRES_CONNECTION"] = null }, "keys", "list");
        Assert.Equal(1, noDatabase.ExitCode);
        Assert.Contains("no connection string", noDatabase.Stderr);
    }
}
