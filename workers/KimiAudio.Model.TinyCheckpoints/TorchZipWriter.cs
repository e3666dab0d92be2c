using System.Buffers.Binary;
using System.IO.Compression;
using KimiAudio.Model.Checkpoints;
using System.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.TinyCheckpoints;

/// <summary>
/// Writes a <c>torch.save</c>-style zip checkpoint: a protocol-2 pickle (<c>archive/data.pkl</c>) whose tensors are
/// persistent references to uncompressed storage records <c>archive/data/&lt;n&gt;</c>, plus <c>archive/version</c>.
/// The object graph uses the reader's types: <see cref="PyDict"/> (OrderedDict when <see cref="PyDict.IsOrdered"/>),
/// <c>List&lt;object?&gt;</c>, <c>object?[]</c> tuples, string, long/int, double, bool, null, and TorchSharp tensors.
/// </summary>
public static class TorchZipWriter
{
    public static void Write(string path, object? root, string recordName = "archive")
    {
        var storages = new List<Tensor>();
        var pickle = new PickleBuilder(storages);
        pickle.Proto();
        pickle.Value(root);
        pickle.Stop();
        using var fs = File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        WriteEntry(zip, $"{recordName}/data.pkl", pickle.ToArray());
        for (int i = 0; i < storages.Count; i++)
        {
            using var t = storages[i];
            WriteEntry(zip, $"{recordName}/data/{i}", t.bytes.ToArray());
        }
        WriteEntry(zip, $"{recordName}/version", Encoding.ASCII.GetBytes("3\n"));
        WriteEntry(zip, $"{recordName}/byteorder", Encoding.ASCII.GetBytes("little"));
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var e = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = e.Open();
        s.Write(bytes);
    }

    private sealed class PickleBuilder(List<Tensor> storages)
    {
        private readonly MemoryStream ms = new();

        public byte[] ToArray() => ms.ToArray();

        public void Proto()
        {
            ms.WriteByte(0x80);
            ms.WriteByte(2);
        }

        public void Stop() => ms.WriteByte((byte)'.');

        private void Op(char c) => ms.WriteByte((byte)c);

        private void Global(string module, string name)
        {
            Op('c');
            ms.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        }

        private void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            Op('X');
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)b.Length);
            ms.Write(len);
            ms.Write(b);
        }

        private void Int(long v)
        {
            if (v >= 0 && v < 256)
            {
                Op('K');
                ms.WriteByte((byte)v);
            }
            else if (v >= int.MinValue && v <= int.MaxValue)
            {
                Op('J');
                Span<byte> b = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
                ms.Write(b);
            }
            else
            {
                ms.WriteByte(0x8a);
                ms.WriteByte(8);
                Span<byte> b = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(b, v);
                ms.Write(b);
            }
        }

        private void Tuple(IReadOnlyList<object?> items)
        {
            if (items.Count == 0)
            {
                Op(')');
                return;
            }
            Op('(');
            foreach (var i in items) Value(i);
            Op('t');
        }

        public void Value(object? v)
        {
            switch (v)
            {
                case null: Op('N'); break;
                case bool b: ms.WriteByte(b ? (byte)0x88 : (byte)0x89); break;
                case int i: Int(i); break;
                case long l: Int(l); break;
                case double d:
                    {
                        Op('G');
                        Span<byte> buf = stackalloc byte[8];
                        BinaryPrimitives.WriteDoubleBigEndian(buf, d);
                        ms.Write(buf);
                        break;
                    }
                case float f: Value((double)f); break;
                case string s: Str(s); break;
                case object?[] t: Tuple(t); break;
                case List<object?> list:
                    Op(']');
                    if (list.Count > 0)
                    {
                        Op('(');
                        foreach (var x in list) Value(x);
                        Op('e');
                    }
                    break;
                case PyDict d:
                    if (d.IsOrdered)
                    {
                        Global("collections", "OrderedDict");
                        Op(')');
                        Op('R');
                    }
                    else Op('}');
                    if (d.Items.Count > 0)
                    {
                        Op('(');
                        foreach (var (k, x) in d.Items)
                        {
                            Value(k);
                            Value(x);
                        }
                        Op('u');
                    }
                    break;
                case Tensor t: TensorValue(t); break;
                default: throw new ArgumentException($"cannot pickle a {v.GetType().Name}");
            }
        }

        private void TensorValue(Tensor t)
        {
            Tensor c;
            using (var scope = NewDisposeScope())
                c = t.detach().cpu().contiguous().clone().DetachFromDisposeScope();
            int key = storages.Count;
            storages.Add(c);
            Global("torch._utils", "_rebuild_tensor_v2");
            Op('(');
            // persistent id ('storage', <storage class>, key, location, numel)
            Op('(');
            Str("storage");
            Global("torch", StorageClass(c.dtype));
            Str(key.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Str("cpu");
            Int(c.NumberOfElements);
            Op('t');
            Op('Q');
            Int(0);
            Tuple(c.shape.Select(s => (object?)s).ToArray());
            Tuple(c.stride().Select(s => (object?)s).ToArray());
            Value(false);
            Global("collections", "OrderedDict");
            Op(')');
            Op('R');
            Op('t');
            Op('R');
        }

        private static string StorageClass(ScalarType t) => t switch
        {
            ScalarType.Float32 => "FloatStorage",
            ScalarType.Float64 => "DoubleStorage",
            ScalarType.Float16 => "HalfStorage",
            ScalarType.BFloat16 => "BFloat16Storage",
            ScalarType.Int64 => "LongStorage",
            ScalarType.Int32 => "IntStorage",
            ScalarType.Int16 => "ShortStorage",
            ScalarType.Int8 => "CharStorage",
            ScalarType.Byte => "ByteStorage",
            ScalarType.Bool => "BoolStorage",
            _ => throw new ArgumentException($"no torch storage class for {t}"),
        };
    }
}
