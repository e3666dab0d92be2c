using System.Text;
using System.Text.Json;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.Orchestrator.Manifests;
using Parquet;
using Parquet.Schema;

namespace KimiAudio.Pipeline.Tests.Manifests;

/// <summary>The manifest formats and the toolkits' column conventions, read from in-memory streams (no services).</summary>
public sealed class ManifestReaderTests
{
    private static readonly S3Uri Manifest = S3Uri.TryParse("s3://data-bucket/lists/train.jsonl", out var u) ? u : throw new InvalidOperationException();

    private static async Task<List<ManifestItem>> ReadAsync(IManifestFormatReader reader, byte[] bytes, long fromRow = 1)
    {
        var items = new List<ManifestItem>();
        await foreach (var r in reader.ReadAsync(new MemoryStream(bytes), fromRow, CancellationToken.None)) items.Add(ManifestColumns.Map(Manifest, r));
        return items;
    }

    private static byte[] Utf8(string s, bool bom = false) => [.. (bom ? Encoding.UTF8.GetPreamble() : []), .. Encoding.UTF8.GetBytes(s)];

    [Fact]
    public async Task Csv_reads_quoted_newlines_doubled_quotes_and_a_bom()
    {
        var csv = "audio_filepath,text,speaker\r\n"
                  + "a.wav,\"first line\nsecond line\",alice\r\n"
                  + "\"s3://other/b, \"\"q\"\".wav\",\"she said \"\"hi\"\"\",\"bob, jr\"\r\n"
                  + "c.wav,plain,carol\r\n";
        var items = await ReadAsync(new CsvManifestReader(), Utf8(csv, bom: true));

        Assert.Equal(3, items.Count);
        Assert.All(items, i => Assert.Null(i.Error));
        Assert.Equal(("data-bucket", "a.wav"), (items[0].Bucket, items[0].Key));
        Assert.Equal("first line\nsecond line", items[0].ReferenceText);
        Assert.Equal("""{"speaker":"alice"}""", items[0].MetadataJson);
        Assert.Equal(("other", "b, \"q\".wav"), (items[1].Bucket, items[1].Key));
        Assert.Equal("she said \"hi\"", items[1].ReferenceText);
        Assert.Equal("""{"speaker":"bob, jr"}""", items[1].MetadataJson);
        // the quoted line break makes the second row start on line 4
        Assert.Equal([2L, 4L, 5L], items.Select(i => i.Line));
        Assert.Equal([1L, 2L, 3L], items.Select(i => i.Row));
    }

    [Fact]
    public async Task Csv_without_a_header_is_the_key_and_prompt_list_and_a_ragged_row_fails_alone()
    {
        var items = await ReadAsync(new CsvManifestReader(), Utf8("x.wav,describe it\ny.wav\nz.wav,p,extra\n\nw.wav,\n"));
        Assert.Equal(["x.wav", "y.wav", "train.jsonl#line=3", "w.wav"], items.Select(i => i.Key.Replace("lists/", "")));
        Assert.Equal("describe it", items[0].Prompt);
        Assert.Null(items[1].Prompt);
        Assert.Null(items[3].Prompt);
        Assert.StartsWith("manifest line 3: expected key[,prompt]", items[2].Error);
        Assert.Equal([1L, 2L, 3L, 4L], items.Select(i => i.Row));

        var ragged = await ReadAsync(new CsvManifestReader(), Utf8("path,duration\na.wav,1.5\nb.wav\nc.wav,abc\nd.wav,2\n"));
        Assert.Equal([null, "manifest line 3: 1 cells where the header has 2", "manifest line 4: \"duration\" must be a number of seconds > 0", null],
            ragged.Select(i => i.Error));
        Assert.Equal(1.5, ragged[0].DurationSeconds);
        Assert.Equal("d.wav", ragged[3].Key);
    }

    [Fact]
    public async Task Csv_header_that_names_no_audio_column_refuses_the_file()
    {
        var ex = await Assert.ThrowsAsync<ManifestFormatException>(() => ReadAsync(new CsvManifestReader(), Utf8("file,transcript,speaker\na.wav,x,y\n")));
        Assert.Contains("line 1", ex.Message);
        Assert.Contains("audio_filepath", ex.Message);
    }

    [Fact]
    public async Task Jsonl_recognises_the_toolkit_columns_and_keeps_every_other_column_verbatim()
    {
        var jsonl = """
            {"audio_filepath": "s3://corpus/long.flac", "offset": 12.5, "duration": 3.25, "text": "hello world", "speaker": {"id": 7, "sex": "f"}, "snr": 1.50, "tags": ["a", "b"], "lang": "EN"}

            {"audio": {"path": "hf/x.wav", "bytes": null}, "question": "who speaks?", "key": "also-kept"}
            not json
            [1, 2]
            {"path": "p.wav", "duration": -1}
            {"text": "no audio"}
            {"key": "", "prompt": "p"}
            {"key": "s3://", "prompt": "p"}
            {"key": "k.wav", "prompt": "first", "question": "second"}
            """;
        var items = await ReadAsync(new JsonlManifestReader(), Utf8(jsonl, bom: true));

        Assert.Equal(9, items.Count);
        var a = items[0];
        Assert.Null(a.Error);
        Assert.Equal(("corpus", "long.flac"), (a.Bucket, a.Key));
        Assert.Equal((12.5, 3.25), (a.OffsetSeconds!.Value, a.DurationSeconds!.Value));
        Assert.Equal(12.5, a.Region!.OffsetSeconds);
        Assert.Equal(3.25, a.Region.DurationSeconds);
        Assert.Equal("hello world", a.ReferenceText);
        Assert.Equal("en", a.Language);
        // verbatim: the number keeps its text, nested values stay nested, and the language column stays too
        Assert.Equal("""{"speaker":{"id": 7, "sex": "f"},"snr":1.50,"tags":["a", "b"],"lang":"EN"}""", a.MetadataJson);

        Assert.Equal(("data-bucket", "hf/x.wav"), (items[1].Bucket, items[1].Key));
        Assert.Equal("who speaks?", items[1].Prompt);
        Assert.Null(items[1].Region);
        Assert.Equal("""{"key":"also-kept"}""", items[1].MetadataJson);
        Assert.Equal(3, items[1].Line); // the blank line 2 is not a row, but lines still count

        Assert.StartsWith("manifest line 4: not JSON", items[2].Error);
        Assert.Equal("lists/train.jsonl#line=4", items[2].Key);
        Assert.Equal("manifest line 5: expected a JSON object", items[3].Error);
        Assert.Equal("manifest line 6: \"duration\" must be a number of seconds > 0", items[4].Error);
        Assert.Equal("p.wav", items[4].Key);
        Assert.StartsWith("manifest line 7: no audio reference", items[5].Error);
        Assert.StartsWith("manifest line 8: \"key\" must be a non-empty string", items[6].Error);
        Assert.Equal("manifest line 9: 's3://' is not a valid s3://bucket/key", items[7].Error);
        Assert.Equal("first", items[8].Prompt);
        Assert.Equal("""{"question":"second"}""", items[8].MetadataJson);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => (long)i), items.Select(i => i.Row));
    }

    [Fact]
    public async Task Readers_start_at_a_given_row()
    {
        var jsonl = string.Concat(Enumerable.Range(1, 10).Select(i => $"{{\"key\":\"k{i}.wav\"}}\n\n"));
        var fromJsonl = await ReadAsync(new JsonlManifestReader(), Utf8(jsonl), fromRow: 7);
        Assert.Equal(["k7.wav", "k8.wav", "k9.wav", "k10.wav"], fromJsonl.Select(i => i.Key));
        Assert.Equal([7L, 8L, 9L, 10L], fromJsonl.Select(i => i.Row));
        Assert.Equal(13, fromJsonl[0].Line);

        var csv = "key,text\n" + string.Concat(Enumerable.Range(1, 10).Select(i => $"k{i}.wav,\"t\n{i}\"\n"));
        var fromCsv = await ReadAsync(new CsvManifestReader(), Utf8(csv), fromRow: 9);
        Assert.Equal(["k9.wav", "k10.wav"], fromCsv.Select(i => i.Key));
        Assert.Equal("t\n9", fromCsv[0].ReferenceText);

        var parquet = await ParquetManifestAsync(10, rowGroupSize: 3);
        var fromParquet = await ReadAsync(new ParquetManifestReader(), parquet, fromRow: 5);
        Assert.Equal(Enumerable.Range(5, 6).Select(i => $"clips/{i}.wav"), fromParquet.Select(i => i.Key));
        Assert.Equal(Enumerable.Range(5, 6).Select(i => (long)i), fromParquet.Select(i => i.Row));
    }

    /// <summary>A datasets-style split: audio struct (bytes + path), text, a float, an int, a bool and a nullable string.</summary>
    private static async Task<byte[]> ParquetManifestAsync(int rows, int rowGroupSize)
    {
        var bytes = new DataField<byte[]>("bytes", nullable: true);
        var path = new DataField<string>("path", nullable: true);
        var audio = new StructField("audio", bytes, path);
        var text = new DataField<string>("text", nullable: true);
        var duration = new DataField<double>("duration");
        var speaker = new DataField<int>("speaker_id");
        var clean = new DataField<bool?>("is_clean");
        var note = new DataField<string>("note", nullable: true);
        var schema = new ParquetSchema(audio, text, duration, speaker, clean, note);
        var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema, output))
        {
            for (var start = 0; start < rows; start += rowGroupSize)
            {
                var ids = Enumerable.Range(start + 1, Math.Min(rowGroupSize, rows - start)).ToArray();
                using var g = writer.CreateRowGroup();
                await g.WriteAsync(bytes, ids.Select(i => new byte[] { 1, 2, (byte)i }).ToArray());
                await g.WriteAsync(path, ids.Select(i => $"clips/{i}.wav").ToArray());
                await g.WriteAsync(text, ids.Select(i => $"transcript {i}").ToArray());
                await g.WriteAsync<double>(duration, ids.Select(i => i * 0.5).ToArray());
                await g.WriteAsync<int>(speaker, ids.Select(i => 100 + i).ToArray());
                await g.WriteAsync<bool>(clean, ids.Select(i => i % 2 == 0 ? (bool?)true : null).ToArray());
                await g.WriteAsync(note, ids.Select(i => i == 2 ? "n\"2" : null).ToArray());
            }
        }
        return output.ToArray();
    }

    [Fact]
    public async Task Parquet_reads_a_datasets_split_with_an_audio_struct_and_typed_metadata()
    {
        var items = await ReadAsync(new ParquetManifestReader(), await ParquetManifestAsync(4, rowGroupSize: 3));
        Assert.Equal(4, items.Count);
        Assert.All(items, i => Assert.Null(i.Error));
        Assert.Equal(("data-bucket", "clips/2.wav"), (items[1].Bucket, items[1].Key));
        Assert.Equal("transcript 2", items[1].ReferenceText);
        Assert.Equal(1.0, items[1].DurationSeconds);
        Assert.Equal("""{"speaker_id":102,"is_clean":true,"note":"n\u00222"}""", items[1].MetadataJson);
        Assert.Equal("""{"speaker_id":101}""", items[0].MetadataJson);
        Assert.Equal([1L, 2L, 3L, 4L], items.Select(i => i.Line));
    }

    [Fact]
    public async Task Parquet_reader_refuses_a_file_that_is_not_parquet()
        => await Assert.ThrowsAsync<ManifestFormatException>(() => ReadAsync(new ParquetManifestReader(), Utf8("{\"key\":\"a.wav\"}\n")));

    /// <summary>
    /// A million-row manifest, produced on the fly by a stream that counts what was read: every row comes out, the reader
    /// never runs more than a buffer ahead of the row it returns, and the managed heap does not grow with the rows.
    /// </summary>
    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    public async Task A_million_row_manifest_streams_in_constant_memory(string format)
    {
        const int rows = 1_000_000;
        var source = new GeneratedManifestStream(rows, format);
        IManifestFormatReader reader = format == "csv" ? new CsvManifestReader() : new JsonlManifestReader();
        long count = 0, maxAhead = 0, heapAtStart = 0, maxHeapGrowth = 0;
        await foreach (var record in reader.ReadAsync(source, 1, CancellationToken.None))
        {
            var item = ManifestColumns.Map(Manifest, record);
            count++;
            Assert.Null(item.Error);
            Assert.Equal(count, item.Row);
            if (count % 100_000 != 1) continue;
            Assert.Equal($"audio/{count}.wav", item.Key);
            Assert.Equal($"{{\"speaker\":\"s{count % 97:D2}\"}}", item.MetadataJson);
            maxAhead = Math.Max(maxAhead, source.BytesRead - source.OffsetOfRow(count));
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            if (count == 1) heapAtStart = heap;
            else maxHeapGrowth = Math.Max(maxHeapGrowth, heap - heapAtStart);
        }
        Assert.Equal(rows, count);
        Assert.True(source.BytesRead > 50_000_000, $"the manifest is {source.BytesRead} bytes");
        Assert.True(maxAhead < 1 << 20, $"the reader ran {maxAhead} bytes ahead of the row it returned");
        Assert.True(maxHeapGrowth < 16 << 20, $"the heap grew by {maxHeapGrowth} bytes while rows streamed");
    }

    /// <summary>A read-only stream of generated manifest rows (row n at a computable offset), never held in memory whole.</summary>
    private sealed class GeneratedManifestStream(int rows, string format) : Stream
    {
        private readonly string header = format == "csv" ? "audio_filepath,duration,text,speaker\n" : "";
        private byte[] current = [];
        private int currentPos;
        private int nextRow = 0;
        public long BytesRead { get; private set; }

        private string Row(long n) => format == "csv"
            ? $"audio/{n}.wav,{n % 30 + 10}.5,\"transcript of row {n:D7}, padded to a fixed width\",s{n % 97:D2}\n"
            : $"{{\"audio_filepath\":\"audio/{n}.wav\",\"duration\":{n % 30 + 10}.5,\"text\":\"transcript of row {n:D7}\",\"speaker\":\"s{n % 97:D2}\"}}\n";

        /// <summary>Byte offset where row n (1-based) ends: rows have the same length but for the digits of n.</summary>
        public long OffsetOfRow(long n)
        {
            long offset = header.Length;
            for (long digits = 1, first = 1; first <= n; digits++, first *= 10)
            {
                var last = Math.Min(n, first * 10 - 1);
                offset += (last - first + 1) * Row(first).Length; // rows with the same number of digits are equally long
            }
            return offset;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (currentPos == current.Length)
            {
                if (nextRow > rows) return 0;
                current = Encoding.UTF8.GetBytes(nextRow == 0 ? header : Row(nextRow));
                currentPos = 0;
                nextRow++;
                if (current.Length == 0) return Read(buffer, offset, count);
            }
            var n = Math.Min(count, current.Length - currentPos);
            Array.Copy(current, currentPos, buffer, offset, n);
            currentPos += n;
            BytesRead += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
