using System.IO.Compression;
using KimiAudio.Model.Checkpoints;
using KimiAudio.Model.Detokenizer;
using static TorchSharp.torch;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Model.Tests.Detokenizer;

public class TorchPickleTests
{
    [Fact]
    public void Fixture_training_checkpoint_exposes_only_speech_model_tensors_with_prefix_stripped()
    {
        using var ckpt = TorchZipCheckpoint.Open(Fixtures.Path("detok-tiny-a", "audio_detokenizer", "model.pt"));
        var sd = ckpt.Dict("state_dict");
        Assert.True(sd.IsOrdered);
        var all = sd.Items.Select(kv => (string)kv.Key).ToList();
        Assert.Equal(2, all.Count(k => k.StartsWith("mel_extractor.", StringComparison.Ordinal)));
        Assert.Equal(32, all.Count(k => k.Contains("speech_model", StringComparison.Ordinal)));
        Assert.True(ckpt.Dict().TryGet("optimizer_states", out var opt) && opt is List<object?> { Count: > 0 });

        using var src = new PickleTensorSource(ckpt, sd, k => k.Contains("speech_model", StringComparison.Ordinal) ? k.Replace("speech_model.", "", StringComparison.Ordinal) : null);
        Assert.Equal(32, src.Keys.Count);
        Assert.Contains("t_embedder.mlp.0.weight", src.Keys);
        Assert.DoesNotContain(src.Keys, k => k.StartsWith("mel_extractor", StringComparison.Ordinal) || k.StartsWith("speech_model", StringComparison.Ordinal));
        Assert.Equal(new long[] { 64, 256 }, src.ShapeOf("t_embedder.mlp.0.weight"));
        using var w = src.Read("semantic_token_embedding.weight");
        Assert.Equal(new long[] { 65, 64 }, w.shape);
        Assert.Equal(ScalarType.Float32, w.dtype);
        Assert.True(w.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Written_checkpoint_reads_back_dicts_scalars_and_tensors_of_several_dtypes()
    {
        var dir = Directory.CreateTempSubdirectory("pt-");
        var path = Path.Combine(dir.FullName, "x.pt");
        using var f = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var l = tensor(new long[] { -5, 7, 1L << 40 });
        using var h = full(new long[] { 2, 2 }, 1.5, ScalarType.BFloat16);
        using var view = f.t();   // non-contiguous: written contiguous, read with the same values
        var inner = new PyDict { IsOrdered = true };
        inner.Set("a.weight", f);
        inner.Set("b", l);
        inner.Set("c", h);
        inner.Set("d", view);
        var root = new PyDict();
        root.Set("state", inner);
        root.Set("lr", 0.25);
        root.Set("big", 1L << 40);
        root.Set("neg", -3L);
        root.Set("betas", new object?[] { 0.9, 0.98 });
        root.Set("flags", new List<object?> { true, false, null, "x" });
        TorchZipWriter.Write(path, root);

        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Contains(zip.Entries, e => e.FullName == "archive/data.pkl");
            Assert.Contains(zip.Entries, e => e.FullName == "archive/version");
            Assert.Equal(4, zip.Entries.Count(e => e.FullName.StartsWith("archive/data/", StringComparison.Ordinal)));
        }
        using var ckpt = TorchZipCheckpoint.Open(path);
        var r = ckpt.Dict();
        Assert.True(r.TryGet("lr", out var lr) && (double)lr! == 0.25);
        Assert.True(r.TryGet("big", out var big) && (long)big! == 1L << 40);
        Assert.True(r.TryGet("neg", out var neg) && (long)neg! == -3);
        Assert.True(r.TryGet("betas", out var betas) && betas is object?[] { Length: 2 } bt && (double)bt[1]! == 0.98);
        Assert.True(r.TryGet("flags", out var flags) && flags is List<object?> fl && fl.SequenceEqual(new object?[] { true, false, null, "x" }));
        using var src = new PickleTensorSource(ckpt, ckpt.Dict("state"), k => k);
        Assert.Equal(new[] { "a.weight", "b", "c", "d" }, src.Keys.OrderBy(k => k, StringComparer.Ordinal));
        using var ra = src.Read("a.weight");
        Assert.True(ra.equal(f).all().item<bool>());
        using var rb = src.Read("b");
        Assert.True(rb.equal(l).all().item<bool>());
        using var rc = src.Read("c");
        Assert.Equal(ScalarType.BFloat16, rc.dtype);
        Assert.True(rc.equal(h).all().item<bool>());
        using var rd = src.Read("d");
        Assert.Equal(new long[] { 4, 3 }, rd.shape);
        Assert.True(rd.equal(view).all().item<bool>());
    }

    [Fact]
    public void Strided_views_of_a_shared_storage_are_read_through_offset_and_stride()
    {
        // hand-written ref: a [2,2] view at offset 1 with strides (3, 1) into a 6-element storage
        var dir = Directory.CreateTempSubdirectory("pt-");
        var path = Path.Combine(dir.FullName, "v.pt");
        using var storage = arange(6, dtype: ScalarType.Float32);
        var root = new PyDict();
        root.Set("s", storage);
        TorchZipWriter.Write(path, root);
        using var ckpt = TorchZipCheckpoint.Open(path);
        ckpt.Dict().TryGet("s", out var sref);
        var whole = (PyTensorRef)sref!;
        using var t = ckpt.Read(whole with { Offset = 1, Shape = [2, 2], Stride = [3, 1] });
        Assert.Equal(new float[] { 1, 2, 4, 5 }, t.data<float>().ToArray());
        var ex = Assert.Throws<CheckpointException>(() => ckpt.Read(whole with { Offset = 4, Shape = [2, 2], Stride = [3, 1] }));
        Assert.Contains("outside storage", ex.Message);
    }

    [Fact]
    public void Loading_the_detokenizer_never_reads_optimizer_storages()
    {
        // copy a generated checkpoint, dropping every storage record that the state_dict does not reference:
        // if the loader touched optimizer moments it would fail on the missing records
        var dir = Directory.CreateTempSubdirectory("lazy-");
        TinyDetokenizerCheckpoint.Write(dir.FullName, seed: 3);
        var model = Path.Combine(dir.FullName, KimiAudioLayout.DetokenizerFolder, "model.pt");
        HashSet<string> needed;
        int total;
        using (var ckpt = TorchZipCheckpoint.Open(model))
        {
            needed = ckpt.Dict("state_dict").Items.Where(kv => ((string)kv.Key).StartsWith("speech_model.", StringComparison.Ordinal))
                .Select(kv => ((PyTensorRef)kv.Value!).Storage.Key).ToHashSet();
            using var zip = ZipFile.OpenRead(model);
            total = zip.Entries.Count(e => e.FullName.Contains("/data/", StringComparison.Ordinal));
        }
        Assert.True(total > 2 * needed.Count, "optimizer moments must be stored as tensors in the generated checkpoint");
        var stripped = model + ".stripped";
        using (var src = ZipFile.OpenRead(model))
        using (var dst = ZipFile.Open(stripped, ZipArchiveMode.Create))
            foreach (var e in src.Entries)
            {
                var slash = e.FullName.IndexOf("/data/", StringComparison.Ordinal);
                if (slash >= 0 && !needed.Contains(e.FullName[(slash + 6)..])) continue;
                var ne = dst.CreateEntry(e.FullName, CompressionLevel.NoCompression);
                using var i = e.Open();
                using var o = ne.Open();
                i.CopyTo(o);
            }
        File.Move(stripped, model, overwrite: true);
        using var detok = SpeechDetokenizer.Load(Path.Combine(dir.FullName, KimiAudioLayout.DetokenizerFolder),
            Path.Combine(dir.FullName, KimiAudioLayout.VocoderFolder), CPU, ScalarType.Float32);
        using var noise = new SeededNoiseSource(1);
        Assert.Equal(5 * 1920, detok.Detokenize([1, 2, 3, 4, 5], noise).Length);
    }

    [Fact]
    public void Missing_or_misshaped_speech_model_tensor_is_named_in_the_error()
    {
        var dir = Directory.CreateTempSubdirectory("strict-");
        TinyDetokenizerCheckpoint.Write(dir.FullName, seed: 4);
        var detokDir = Path.Combine(dir.FullName, KimiAudioLayout.DetokenizerFolder);
        var vocDir = Path.Combine(dir.FullName, KimiAudioLayout.VocoderFolder);
        var model = Path.Combine(detokDir, "model.pt");

        PyDict root;
        var tensors = new Dictionary<string, Tensor>();
        using (var ckpt = TorchZipCheckpoint.Open(model))
            foreach (var (k, v) in ckpt.Dict("state_dict").Items)
                tensors[(string)k] = ckpt.Read((PyTensorRef)v!);

        void Rewrite(Action<PyDict> edit)
        {
            var sd = new PyDict { IsOrdered = true };
            foreach (var (k, t) in tensors) sd.Set(k, t);
            edit(sd);
            root = new PyDict();
            root.Set("state_dict", sd);
            TorchZipWriter.Write(model, root);
        }

        Rewrite(sd => sd.Set("speech_model.final_layer.linear.bias", zeros(81)));
        var ex = Assert.Throws<CheckpointException>(() => SpeechDetokenizer.Load(detokDir, vocDir, CPU, ScalarType.Float32));
        Assert.Contains("final_layer.linear.bias", ex.Message);
        Assert.Contains("[81]", ex.Message);
        Assert.Contains("[80]", ex.Message);

        var withoutKey = tensors.Keys.First(k => k.EndsWith("blocks.1.attn.proj.weight", StringComparison.Ordinal));
        var kept = tensors[withoutKey];
        tensors.Remove(withoutKey);
        Rewrite(_ => { });
        ex = Assert.Throws<CheckpointException>(() => SpeechDetokenizer.Load(detokDir, vocDir, CPU, ScalarType.Float32));
        Assert.Contains("blocks.1.attn.proj.weight", ex.Message);

        tensors[withoutKey] = kept;
        Rewrite(sd => sd.Set("speech_model.extra.weight", zeros(2)));
        ex = Assert.Throws<CheckpointException>(() => SpeechDetokenizer.Load(detokDir, vocDir, CPU, ScalarType.Float32));
        Assert.Contains("extra.weight", ex.Message);

        foreach (var t in tensors.Values) t.Dispose();
    }
}
