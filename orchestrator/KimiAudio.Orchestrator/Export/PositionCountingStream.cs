namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// A write-only stream in front of a non-seekable target (a response body) that knows its Position. Writes, sync or
/// async, collect in memory and go to the target on FlushAsync/DisposeAsync, so memory holds one flush's worth.
/// </summary>
public sealed class PositionCountingStream(Stream inner) : Stream
{
    private readonly MemoryStream pending = new();
    private long flushed;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => flushed + pending.Length;
    public override long Position { get => Length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => pending.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => pending.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        pending.Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        pending.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush() { }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (pending.Length == 0) return;
        await inner.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), cancellationToken);
        await inner.FlushAsync(cancellationToken);
        flushed += pending.Length;
        pending.SetLength(0);
    }

    public override async ValueTask DisposeAsync()
    {
        await FlushAsync(CancellationToken.None);
        await pending.DisposeAsync();
        await base.DisposeAsync();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
