using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>The S3 store against the real S3-compatible server (with the emulator workarounds).</summary>
public sealed class ObjectStoreTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task Uploaded_bytes_come_back_unchanged_and_an_overwrite_changes_the_listed_etag()
    {
        var first = TestAudio.ToneWav(1);
        await p.UploadAsync("s/a.wav", first);
        Assert.Equal(first, await p.Store.GetBytesAsync(p.Bucket, "s/a.wav", long.MaxValue, CancellationToken.None));
        var listed1 = await p.Store.ListAsync(p.Bucket, "s/", CancellationToken.None).SingleAsync();
        var head1 = await p.Store.HeadAsync(p.Bucket, "s/a.wav", CancellationToken.None);

        var second = TestAudio.ToneWav(3);
        await p.UploadAsync("s/a.wav", second);
        var listed2 = await p.Store.ListAsync(p.Bucket, "s/", CancellationToken.None).SingleAsync();
        var head2 = await p.Store.HeadAsync(p.Bucket, "s/a.wav", CancellationToken.None);

        Assert.Equal(first.Length, listed1.Size);
        Assert.Equal(second.Length, listed2.Size);
        Assert.Equal(listed1.ETag, head1!.ETag);
        Assert.Equal(listed2.ETag, head2!.ETag);
        Assert.NotEqual(listed1.ETag, listed2.ETag);
    }

    [Fact]
    public async Task Listing_pages_through_more_keys_than_one_page()
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, 1105), async (i, ct) => await p.UploadAsync($"many/{i:D5}.bin", [(byte)i]));
        var keys = new List<string>();
        await foreach (var o in p.Store.ListAsync(p.Bucket, "many/", CancellationToken.None)) keys.Add(o.Key);
        Assert.Equal(1105, keys.Count);
        Assert.Equal(1105, keys.Distinct().Count());
    }
}
