namespace Whitesky.DiskFormats;

/// <summary>
/// A bounded least-recently-used cache of decoded metadata tables (qcow2 L2 tables, VMDK grain tables),
/// keyed by where the table lives. Safe for concurrent readers.
/// </summary>
internal sealed class TableCache<T>(int capacity)
{
    private readonly Dictionary<long, LinkedListNode<(long Key, T[] Table)>> _map = [];
    private readonly LinkedList<(long Key, T[] Table)> _order = new();
    private readonly Lock _lock = new();

    public bool TryGet(long key, out T[] table)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
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

    public void Add(long key, T[] table)
    {
        lock (_lock)
        {
            if (_map.ContainsKey(key))
            {
                return;
            }

            if (_map.Count >= capacity && _order.Last is { } oldest)
            {
                _order.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }

            _map[key] = _order.AddFirst((key, table));
        }
    }
}
