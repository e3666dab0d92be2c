using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace KimiAudio.Audio;

/// <summary>
/// FLAC and every container not decoded in process, through the ffmpeg executable. The input is written to a temporary file
/// (seekable, so formats with their index at the end, e.g. MP4/M4A, work), ffmpeg writes 32-bit float WAV to its stdout
/// pipe, and that stream is mixed to mono while it is read. ffmpeg runs under <see cref="AudioDecodeLimits.ExternalDecoderTimeout"/>
/// and its output is cut at the duration limit (+1 s); on timeout, cancellation or an over-long input the process is killed.
/// </summary>
internal static class FfmpegDecoder
{
    private const int HeaderProbeLimit = 64 * 1024;
    private const int StderrTailChars = 1500;

    public static async Task<SourceAudio> DecodeAsync(ReadOnlyMemory<byte> data, string format, AudioDecodeLimits limits, CancellationToken ct)
    {
        string input = Path.Combine(Path.GetTempPath(), $"kimia-audio-{Guid.NewGuid():N}.bin");
        try
        {
            await using (var file = new FileStream(input, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await file.WriteAsync(data, ct);
            }
            return await RunAsync(input, format, limits, ct);
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static async Task<SourceAudio> RunAsync(string input, string format, AudioDecodeLimits limits, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(limits.FfmpegPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // a region: ffmpeg seeks on the input (-ss before -i, sample-accurate when decoding) and stops after its duration
        var region = limits.Region;
        double length = Math.Min(limits.MaxSeconds + 1, region?.DurationSeconds ?? double.MaxValue);
        string seconds = length.ToString("0.######", CultureInfo.InvariantCulture);
        string start = (region?.OffsetSeconds ?? 0).ToString("0.######", CultureInfo.InvariantCulture);
        foreach (var arg in new[]
                 {
                     "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", start, "-i", input, "-map", "0:a:0", "-vn", "-sn", "-dn",
                     "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-t", seconds,
                     "-c:a", "pcm_f32le", "-f", "wav", "pipe:1",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            // Not a property of the input: the decoder is missing on this host, so this is not an AudioDecodeException.
            throw new InvalidOperationException(
                $"ffmpeg ('{limits.FfmpegPath}') is needed to decode {format} audio but could not be started: {ex.Message}. Install ffmpeg (Debian: apt-get install ffmpeg; infra/services.sh install).", ex);
        }
        process.StandardInput.Close();
        var stderr = ReadTailAsync(process.StandardError);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limits.ExternalDecoderTimeout);
        try
        {
            var result = await ReadWavAsync(process.StandardOutput.BaseStream, format, limits, timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0 || result is null)
            {
                throw new AudioDecodeException($"{format} input could not be decoded (ffmpeg exit code {process.ExitCode}): {(await stderr).Replace(input, "<input>", StringComparison.Ordinal)}");
            }
            return result;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill(process);
            throw new AudioDecodeException(
                $"decoding the {format} input did not finish within {limits.ExternalDecoderTimeout.TotalSeconds:0.#} s (ffmpeg was stopped); the file is probably damaged");
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    // Parses ffmpeg's WAV header (its size fields are 0xFFFFFFFF on a pipe) and mixes the float frames to mono as they arrive.
    private static async Task<SourceAudio?> ReadWavAsync(Stream stdout, string format, AudioDecodeLimits limits, CancellationToken ct)
    {
        var buffer = new byte[1 << 16];
        int filled = 0;
        WavHeader? header = null;
        while (header is null)
        {
            int n = await stdout.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0)
            {
                return null; // no audio came out; ffmpeg's exit code and message say why
            }
            filled += n;
            var probe = WavHeaderReader.Read(buffer.AsSpan(0, filled), complete: false);
            if (probe.OtherCodec is not null || (probe.NeedMoreBytes && filled >= HeaderProbeLimit))
            {
                throw new AudioDecodeException($"ffmpeg produced unexpected output for the {format} input");
            }
            header = probe.Header;
            if (filled == buffer.Length && header is null)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }

        var mono = new MonoBuffer(header.SampleRate, limits.MaxSeconds);
        int offset = (int)header.DataOffset;
        while (true)
        {
            int frames = (filled - offset) / header.BlockAlign;
            if (frames > 0)
            {
                mono.Advance(PcmToMono.Convert(buffer.AsSpan(offset, frames * header.BlockAlign), header, mono.GetAppendSpan(frames)));
                offset += frames * header.BlockAlign;
            }
            // keep the partial frame at the front of the buffer
            Array.Copy(buffer, offset, buffer, 0, filled - offset);
            filled -= offset;
            offset = 0;
            int n = await stdout.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return new SourceAudio(mono.Samples.ToArray(), header.SampleRate, header.Channels, format);
    }

    private static async Task<string> ReadTailAsync(StreamReader reader)
    {
        var tail = new StringBuilder();
        var block = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(block)) > 0)
        {
            tail.Append(block, 0, n);
            if (tail.Length > 4 * StderrTailChars)
            {
                tail.Remove(0, tail.Length - StderrTailChars);
            }
        }
        string text = tail.ToString().Trim();
        text = text.Length > StderrTailChars ? text[^StderrTailChars..] : text;
        return text.Length == 0 ? "(no message)" : text.Replace(Environment.NewLine, " | ", StringComparison.Ordinal);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }
}
