using static TorchSharp.torch;

namespace KimiAudio.Model.Checkpoints;

/// <summary>A Python global named by a pickle (<c>module.name</c>); never imported or executed.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>A Python dict or OrderedDict, keys in insertion order (as the pickle built it).</summary>
public sealed class PyDict
{
    /// <summary>True for collections.OrderedDict (what torch state dicts are); the writer emits the matching class.</summary>
    public bool IsOrdered { get; init; }

    private readonly List<KeyValuePair<object, object?>> items = [];
    private readonly Dictionary<object, int> index = [];

    public IReadOnlyList<KeyValuePair<object, object?>> Items => items;

    public void Set(object key, object? value)
    {
        if (index.TryGetValue(key, out var i)) items[i] = new(key, value);
        else
        {
            index[key] = items.Count;
            items.Add(new(key, value));
        }
    }

    public bool TryGet(object key, out object? value)
    {
        if (index.TryGetValue(key, out var i))
        {
            value = items[i].Value;
            return true;
        }
        value = null;
        return false;
    }
}

/// <summary>An object the unpickler does not interpret: its class, constructor arguments and BUILD state.</summary>
public sealed class PyObject(PyGlobal type, object?[] args)
{
    public PyGlobal Type { get; } = type;
    public object?[] Args { get; } = args;
    public object? State { get; set; }
}

/// <summary>A storage of a torch zip checkpoint: the zip record <c>data/&lt;Key&gt;</c> holding <c>Numel</c> elements.</summary>
public sealed record PyStorage(string Key, ScalarType DType, long Numel, string Location);

/// <summary>A tensor of a torch zip checkpoint, not yet read: a strided view of one storage.</summary>
public sealed record PyTensorRef(PyStorage Storage, long Offset, long[] Shape, long[] Stride);
