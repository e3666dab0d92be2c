using KimiAudio.Configuration;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace KimiAudio.Cli;

/// <summary>kimia upload: puts a folder's files under an S3 prefix with the pipeline's own object store.</summary>
public static class Uploader
{
    public static async Task<int> UploadAsync(DirectoryInfo directory, string target, CancellationToken ct)
    {
        if (!directory.Exists) throw new CliException($"{directory.FullName} does not exist");
        if (!S3Uri.TryParse(target, out var location)) throw new CliException($"'{target}' is not s3://bucket/prefix");
        await using var services = new ServiceCollection()
            .AddSingleton(WellKnownEnvironment.Build())
            .AddPipelineResilience()
            .AddObjectStore()
            .BuildServiceProvider();
        var store = services.GetRequiredService<IObjectStore>();
        await store.EnsureBucketAsync(location.Bucket, ct);
        var prefix = location.Key.Length == 0 || location.Key.EndsWith('/') ? location.Key : location.Key + "/";
        var files = directory.GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        foreach (var file in files)
            await store.PutAsync(location.Bucket, prefix + file.Name, await File.ReadAllBytesAsync(file.FullName, ct), "application/octet-stream", ct);
        return files.Count;
    }
}
