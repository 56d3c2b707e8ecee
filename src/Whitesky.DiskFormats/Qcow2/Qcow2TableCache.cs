namespace Whitesky.DiskFormats.Qcow2;

/// <summary>A bounded least-recently-used cache of decoded L2 tables, keyed by their offset in the image.</summary>
internal sealed class Qcow2TableCache
{
    private readonly int _capacity;
    private readonly Dictionary<long, LinkedListNode<(long Offset, ulong[] Table)>> _map = [];
    private readonly LinkedList<(long Offset, ulong[] Table)> _order = new();
    private readonly Lock _lock = new();

    public Qcow2TableCache(int capacity) => _capacity = capacity;

    public bool TryGet(long offset, out ulong[] table)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(offset, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                table = node.Value.Table;
                return true;
            }
        }

        table = [];
        return false;
    }

    public void Add(long offset, ulong[] table)
    {
        lock (_lock)
        {
            if (_map.ContainsKey(offset))
            {
                return;
            }

            _map[offset] = _order.AddFirst((offset, table));
            if (_map.Count > _capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Offset);
            }
        }
    }
}
