namespace Whitesky.DiskFormats;

/// <summary>The state of one <see cref="DiskImage.OpenAsync(string, DiskImageOptions?, CancellationToken)"/>: resolver, depth, files already open in the chain.</summary>
internal sealed class DiskOpenContext
{
    private readonly HashSet<string> _chain;

    public DiskOpenContext(DiskImageOptions options)
        : this(options, 0, new HashSet<string>(StringComparer.Ordinal))
    {
    }

    private DiskOpenContext(DiskImageOptions options, int depth, HashSet<string> chain)
    {
        Options = options;
        Depth = depth;
        _chain = chain;
    }

    public DiskImageOptions Options { get; }

    public int Depth { get; }

    /// <summary>Records that <paramref name="name"/> is part of the chain; false when it already was (a loop).</summary>
    public bool Enter(string name) => _chain.Add(name);

    /// <summary>
    /// Opens a file the image <paramref name="referrer"/> names (a parent, an extent, a data file) through the
    /// caller's resolver.
    /// </summary>
    public ValueTask<IRandomAccessSource> OpenReferenceAsync(string referrer, string reference, CancellationToken cancellationToken) =>
        Options.Resolver.OpenAsync(referrer, reference, cancellationToken);

    /// <summary>Opens a parent image (probing its format unless <paramref name="format"/> is given), one level deeper.</summary>
    public async Task<IVirtualDisk> OpenParentAsync(string referrer, string reference, string? format, CancellationToken cancellationToken)
    {
        if (Options.LayerOnly)
        {
            return new AbsentParentDisk(reference);
        }

        if (Depth + 1 > Options.MaxChainDepth)
        {
            throw new DiskFormatException($"{referrer}: its chain of parents is deeper than {Options.MaxChainDepth} images.");
        }

        var source = await OpenReferenceAsync(referrer, reference, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!Enter(source.Name))
            {
                throw new DiskFormatException($"{referrer}: its parent '{reference}' is already in the chain (a loop).");
            }

            var child = new DiskOpenContext(Options with { Format = format }, Depth + 1, _chain);
            return await DiskImage.OpenAsync(source, child, ownsSource: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
