using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>
/// A pickle interpreter for torch checkpoints (protocols 0–5 opcodes, as written by <c>torch.save</c>). It builds a
/// plain object graph — <see cref="PyDict"/>, <c>List&lt;object?&gt;</c>, <c>object?[]</c> for tuples, strings, numbers,
/// <see cref="PyTensorRef"/> for tensors, <see cref="PyObject"/> for anything else — and never imports or runs code.
/// Tensor storages are only referenced (persistent ids), never read, so optimizer states cost nothing.
/// </summary>
public sealed class PickleReader
{
    private static readonly object Mark = new();
    private readonly byte[] data;
    private readonly string origin;
    private int pos;
    private readonly List<object?> stack = [];
    private readonly Dictionary<long, object?> memo = [];
    private readonly Dictionary<string, PyStorage> storages = new(StringComparer.Ordinal);

    private PickleReader(byte[] data, string origin)
    {
        this.data = data;
        this.origin = origin;
    }

    /// <summary>Interprets one pickle; <paramref name="origin"/> names it in error messages.</summary>
    public static object? Load(byte[] data, string origin) => new PickleReader(data, origin).Run();

    private CheckpointException Error(string what) => new($"{origin}: pickle byte {pos}: {what}");

    private object? Run()
    {
        while (true)
        {
            if (pos >= data.Length) throw Error("ended without STOP");
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: pos++; break;                               // PROTO
                case 0x95: pos += 8; break;                            // FRAME
                case (byte)'.': return Pop();                          // STOP
                case (byte)'(': stack.Add(Mark); break;                // MARK
                case (byte)'0': Pop(); break;                          // POP
                case (byte)'1': PopMark(); break;                      // POP_MARK
                case (byte)'2': stack.Add(stack[^1]); break;           // DUP
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'K': stack.Add((long)data[pos++]); break;   // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case 0x8a: stack.Add(ReadLong(data[pos++])); break;    // LONG1
                case 0x8b: stack.Add(ReadLong(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break;
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;   // BINFLOAT
                case (byte)'I': stack.Add(ParseIntLine(ReadLine())); break;
                case (byte)'L': stack.Add(long.Parse(ReadLine().TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture)); break;
                case (byte)'F': stack.Add(double.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture)); break;
                case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break;
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(data[pos++]))); break;   // SHORT_BINUNICODE
                case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))))); break;
                case (byte)'V': stack.Add(ReadLine()); break;          // UNICODE (raw-unicode-escape; plain ASCII expected)
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(data[pos++]))); break;
                case (byte)'S': stack.Add(ReadLine().Trim('\'', '"')); break;
                case (byte)'B': stack.Add(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray()); break;
                case (byte)'C': stack.Add(Take(data[pos++]).ToArray()); break;
                case 0x8e: stack.Add(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))).ToArray()); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case (byte)'t': stack.Add(PopMark().ToArray()); break;
                case 0x85: stack.Add(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; }
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'l': stack.Add(PopMark()); break;
                case (byte)'a': { var v = Pop(); AsList(stack[^1]).Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(stack[^1]).AddRange(items); break; }
                case (byte)'}': stack.Add(new PyDict()); break;
                case (byte)'d': { var items = PopMark(); var d = new PyDict(); SetItems(d, items); stack.Add(d); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(stack[^1]).Set(Key(k), v); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(stack[^1]), items); break; }
                case 0x8f: stack.Add(new List<object?>()); break;      // EMPTY_SET (kept as a list)
                case 0x90: { var items = PopMark(); AsList(stack[^1]).AddRange(items); break; }
                case 0x91: stack.Add(PopMark()); break;                // FROZENSET
                case (byte)'c': stack.Add(new PyGlobal(ReadLine(), ReadLine())); break;
                case 0x93: { var name = (string)Pop()!; var module = (string)Pop()!; stack.Add(new PyGlobal(module, name)); break; }
                case (byte)'R': { var args = AsTuple(Pop()); var fn = Pop(); stack.Add(Reduce(fn, args)); break; }
                case 0x81: { var args = AsTuple(Pop()); var cls = Pop(); stack.Add(Reduce(cls, args)); break; }   // NEWOBJ
                case 0x92: { Pop(); var args = AsTuple(Pop()); var cls = Pop(); stack.Add(Reduce(cls, args)); break; }
                case (byte)'b': { var state = Pop(); if (stack[^1] is PyObject o) o.State = state; break; }   // BUILD
                case (byte)'Q': stack.Add(PersistentLoad(Pop())); break;
                case (byte)'P': throw Error("text persistent ids are not used by torch checkpoints");
                case (byte)'q': memo[data[pos++]] = stack[^1]; break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = stack[^1]; break;
                case (byte)'p': memo[long.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture)] = stack[^1]; break;
                case 0x94: memo[memo.Count] = stack[^1]; break;        // MEMOIZE
                case (byte)'h': stack.Add(Memo(data[pos++])); break;
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'g': stack.Add(Memo(long.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture))); break;
                default: throw Error($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    private object? Memo(long key) => memo.TryGetValue(key, out var v) ? v : throw Error($"memo key {key} was never stored");

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || pos + n > data.Length) throw Error($"needs {n} more bytes than the pickle holds");
        var s = new ReadOnlySpan<byte>(data, pos, n);
        pos += n;
        return s;
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(data, (byte)'\n', pos);
        if (end < 0) throw Error("unterminated text argument");
        var s = Encoding.UTF8.GetString(data, pos, end - pos);
        pos = end + 1;
        return s;
    }

    private static object ParseIntLine(string s) => s switch
    {
        "00" => false,
        "01" => true,
        _ => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
    };

    private object ReadLong(int n)
    {
        var bytes = Take(n);
        var v = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;
    }

    private object? Pop()
    {
        if (stack.Count == 0) throw Error("stack underflow");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        if (ReferenceEquals(v, Mark)) throw Error("unexpected MARK");
        return v;
    }

    private List<object?> PopMark()
    {
        int m = stack.FindLastIndex(o => ReferenceEquals(o, Mark));
        if (m < 0) throw Error("no MARK on the stack");
        var items = stack.GetRange(m + 1, stack.Count - m - 1);
        stack.RemoveRange(m, stack.Count - m);
        return items;
    }

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Error($"APPEND to a {o?.GetType().Name ?? "None"}");

    private PyDict AsDict(object? o) => o switch
    {
        PyDict d => d,
        PyObject { State: PyDict s } => s,
        PyObject p => (PyDict)(p.State = new PyDict()),
        _ => throw Error($"SETITEM on a {o?.GetType().Name ?? "None"}"),
    };

    private object?[] AsTuple(object? o) => o as object?[] ?? throw Error("expected an argument tuple");

    private object Key(object? k) => k switch
    {
        null => throw Error("None as a dict key is not supported"),
        object?[] t => string.Join(",", t),
        _ => k,
    };

    private void SetItems(PyDict d, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Error("odd number of items for a dict");
        for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i]), items[i + 1]);
    }

    private object? Reduce(object? fn, object?[] args)
    {
        if (fn is not PyGlobal g) throw Error("REDUCE on something that is not a global");
        switch (g.Module, g.Name)
        {
            case ("collections", "OrderedDict"):
                return new PyDict { IsOrdered = true };
            case ("builtins", "dict"):
                return new PyDict();
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_tensor"):
                {
                    if (args.Length < 4 || args[0] is not PyStorage st) throw Error($"{g} without a storage argument");
                    return new PyTensorRef(st, ToLong(args[1]), ToLongs(args[2]), ToLongs(args[3]));
                }
            case ("torch._utils", "_rebuild_parameter"):
            case ("torch._utils", "_rebuild_parameter_with_state"):
                return args.Length > 0 ? args[0] : throw Error($"{g} without data");
            default:
                return new PyObject(g, args);
        }
    }

    private object PersistentLoad(object? pid)
    {
        if (pid is not object?[] t || t.Length < 5 || t[0] is not "storage")
            throw Error("persistent id is not a ('storage', type, key, location, numel) tuple");
        var key = t[2] as string ?? Convert.ToString(t[2], System.Globalization.CultureInfo.InvariantCulture) ?? throw Error("storage without a key");
        if (storages.TryGetValue(key, out var known)) return known;
        var type = t[1] as PyGlobal ?? throw Error($"storage {key} has no type");
        var st = new PyStorage(key, StorageDType(type), ToLong(t[4]), t[3] as string ?? "cpu");
        storages[key] = st;
        return st;
    }

    private ScalarType StorageDType(PyGlobal type) => type.Name switch
    {
        "FloatStorage" => ScalarType.Float32,
        "DoubleStorage" => ScalarType.Float64,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => throw Error($"unsupported storage type {type}"),
    };

    private long ToLong(object? o) => o switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw Error($"expected an integer, found {o?.GetType().Name ?? "None"}"),
    };

    private long[] ToLongs(object? o) => o is object?[] t ? t.Select(ToLong).ToArray() : throw Error("expected a tuple of integers");
}
