namespace Whitesky.Nbd;

/// <summary>One block status descriptor: a run of the export and its context-defined flags.</summary>
/// <param name="Offset">Start of the run in bytes.</param>
/// <param name="Length">Length of the run in bytes.</param>
/// <param name="Flags">Status flags; their meaning belongs to the meta context.</param>
public readonly record struct NbdExtent(long Offset, long Length, uint Flags)
{
    /// <summary><c>NBD_STATE_HOLE</c> of <c>base:allocation</c>: the run is not allocated.</summary>
    public const uint HoleFlag = 1;

    /// <summary><c>NBD_STATE_ZERO</c> of <c>base:allocation</c>: the run reads as zeroes.</summary>
    public const uint ZeroFlag = 2;

    /// <summary><c>NBD_STATE_DIRTY</c> of <c>qemu:dirty-bitmap:*</c>: the run changed.</summary>
    public const uint DirtyFlag = 1;

    /// <summary>The end of the run (exclusive).</summary>
    public long End => Offset + Length;

    /// <summary>For <c>base:allocation</c>: whether the run is a hole.</summary>
    public bool IsHole => (Flags & HoleFlag) != 0;

    /// <summary>For <c>base:allocation</c>: whether the run reads as zeroes.</summary>
    public bool IsZero => (Flags & ZeroFlag) != 0;
}

/// <summary>The answer to one <c>NBD_CMD_BLOCK_STATUS</c>: the extents of each negotiated meta context.</summary>
public sealed class NbdBlockStatus
{
    private readonly Dictionary<string, IReadOnlyList<NbdExtent>> _byContext;

    internal NbdBlockStatus(long offset, long length, Dictionary<string, IReadOnlyList<NbdExtent>> byContext)
    {
        Offset = offset;
        Length = length;
        _byContext = byContext;
    }

    /// <summary>The offset asked about.</summary>
    public long Offset { get; }

    /// <summary>The length asked about.</summary>
    public long Length { get; }

    /// <summary>The contexts answered.</summary>
    public IEnumerable<string> Contexts => _byContext.Keys;

    /// <summary>
    /// The extents of <paramref name="context"/>, consecutive from <see cref="Offset"/>. They may cover less than
    /// <see cref="Length"/> (ask again from the end) or, in the last extent, more.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The context was not negotiated.</exception>
    public IReadOnlyList<NbdExtent> this[string context] => _byContext.TryGetValue(context, out var extents)
        ? extents
        : throw new KeyNotFoundException($"Meta context '{context}' was not negotiated on this connection (have: {string.Join(", ", _byContext.Keys)}).");

    /// <summary>Tries to get the extents of <paramref name="context"/>.</summary>
    public bool TryGetExtents(string context, out IReadOnlyList<NbdExtent> extents)
    {
        if (_byContext.TryGetValue(context, out var found))
        {
            extents = found;
            return true;
        }

        extents = [];
        return false;
    }
}
