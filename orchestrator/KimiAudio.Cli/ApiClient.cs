using System.Net.Http.Json;
using System.Text.Json;

namespace KimiAudio.Cli;

/// <summary>The orchestrator's HTTP API, as the CLI uses it. The API key defaults to $KIMIA_API_KEY.</summary>
public sealed class ApiClient : IDisposable
{
    public const string ApiKeyVariable = "KIMIA_API_KEY";
    private readonly HttpClient http;

    public ApiClient(Uri baseAddress, string? apiKey = null)
    {
        http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(30) };
        apiKey ??= Environment.GetEnvironmentVariable(ApiKeyVariable);
        if (!string.IsNullOrWhiteSpace(apiKey)) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey.Trim());
    }

    /// <summary>Any call of the API; a non-success answer becomes a <see cref="CliException"/> naming the bad fields.</summary>
    public async Task<JsonElement?> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new CliException($"{method} {path} answered {(int)response.StatusCode}: {Describe(text, response)}");
        return text.Length == 0 ? null : JsonDocument.Parse(text).RootElement;
    }

    public async Task<JsonElement> SubmitAsync(object request, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync("/batches", request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new CliException($"the orchestrator refused the batch ({(int)response.StatusCode}): {Describe(body)}");
        return JsonDocument.Parse(body).RootElement;
    }

    public Task<JsonElement> GetBatchAsync(Guid batchId, CancellationToken ct) => GetAsync($"/batches/{batchId}", ct);

    public async Task<JsonElement> GetAsync(string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new CliException($"GET {path} answered {(int)response.StatusCode}: {Describe(body, response)}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Copies a GET answer to <paramref name="output"/> as it arrives (never held whole in memory).</summary>
    public async Task DownloadAsync(string path, Stream output, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
            throw new CliException($"GET {path} answered {(int)response.StatusCode}: {Describe(await response.Content.ReadAsStringAsync(ct), response)}");
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await body.CopyToAsync(output, ct);
    }

    private static string Describe(string body, HttpResponseMessage? response = null)
    {
        if (body.Length == 0) return response?.ReasonPhrase ?? "(no body)";
        try
        {
            var json = JsonDocument.Parse(body).RootElement;
            if (json.TryGetProperty("errors", out var errors))
                return string.Join("; ", errors.EnumerateObject().Select(e => $"{e.Name}: {string.Join(", ", e.Value.EnumerateArray().Select(v => v.GetString()))}"));
            if (json.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } text) return text;
        }
        catch (JsonException)
        {
        }
        return body;
    }

    public void Dispose() => http.Dispose();
}

/// <summary>A problem to report to the user in one line (exit code 1).</summary>
public sealed class CliException(string message) : Exception(message);
