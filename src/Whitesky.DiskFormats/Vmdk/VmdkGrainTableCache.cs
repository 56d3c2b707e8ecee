namespace Whitesky.DiskFormats.Vmdk;

/// <summary>A bounded least-recently-used cache of grain tables, keyed by grain table number.</summary>
internal sealed class VmdkGrainTableCache(int capacity)
{
    private readonly Dictionary<long, LinkedListNode<(long Key, uint[] Table)>> _map = [];
    private readonly LinkedList<(long Key, uint[] Table)> _order = new();
    private readonly Lock _lock = new();

    public bool TryGet(long key, out uint[] table)
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

    public void Add(long key, uint[] table)
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
