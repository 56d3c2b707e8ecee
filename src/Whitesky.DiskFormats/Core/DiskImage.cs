namespace Whitesky.DiskFormats;

/// <summary>Opens disk images of any supported format as <see cref="IVirtualDisk"/>.</summary>
public static class DiskImage
{
    private const int ProbeLength = 4096;
    private const int ProbeTailLength = 512;

    /// <summary>The formats, most specific first; raw matches anything and comes last.</summary>
    private static readonly IDiskFormat[] Formats = [.. FormatRegistry.All];

    /// <summary>The names of the formats this version reads.</summary>
    public static IReadOnlyList<string> SupportedFormats { get; } = [.. Formats.Select(f => f.Name)];

    /// <summary>Opens an image file; its format is probed from its content unless <see cref="DiskImageOptions.Format"/> says it.</summary>
    /// <exception cref="DiskFormatException">The image is malformed, unsupported, or refers to files the resolver refuses.</exception>
    public static Task<IVirtualDisk> OpenAsync(string path, DiskImageOptions? options = null, CancellationToken cancellationToken = default) =>
        FileSource.OpenOwnedAsync(path, source =>
        {
            var context = new DiskOpenContext(options ?? new DiskImageOptions());
            context.Enter(source.Name);
            return OpenAsync(source, context, ownsSource: true, cancellationToken);
        });

    /// <summary>Opens an image from a source; the source stays the caller's (disposing the disk does not dispose it).</summary>
    public static Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var context = new DiskOpenContext(options ?? new DiskImageOptions());
        context.Enter(source.Name);
        return OpenAsync(source, context, ownsSource: false, cancellationToken);
    }

    /// <summary>Tells the format of an image from its content, or null when it is none of the structured formats (then it is raw).</summary>
    public static async Task<string> ProbeAsync(IRandomAccessSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return (await ProbeFormatAsync(source, cancellationToken).ConfigureAwait(false)).Name;
    }

    /// <summary>
    /// The bytes of <paramref name="disk"/> that hold data in this image or its parents (what a copy has to
    /// move), counted from metadata; zero and unallocated runs are not counted.
    /// </summary>
    public static async Task<long> CountAllocatedBytesAsync(IVirtualDisk disk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(disk);
        long allocated = 0;
        await foreach (var extent in disk.GetExtentsAsync(0, disk.Capacity, cancellationToken).ConfigureAwait(false))
        {
            allocated += extent.Kind == DiskExtentKind.Data ? extent.Length : 0;
        }

        return allocated;
    }

    /// <summary><see cref="IVirtualDisk.Describe"/> with <see cref="DiskInfo.AllocatedBytes"/> counted (a walk over the metadata).</summary>
    public static async Task<DiskInfo> DescribeAsync(IVirtualDisk disk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(disk);
        return disk.Describe() with { AllocatedBytes = await CountAllocatedBytesAsync(disk, cancellationToken).ConfigureAwait(false) };
    }

    internal static async Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken)
    {
        IDiskFormat format;
        if (context.Options.Format is { } name)
        {
            format = Formats.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new DiskFormatException($"{source.Name}: the format '{name}' is not supported (supported: {string.Join(", ", SupportedFormats)}).");
        }
        else
        {
            format = await ProbeFormatAsync(source, cancellationToken).ConfigureAwait(false);
        }

        return await format.OpenAsync(source, context, ownsSource, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IDiskFormat> ProbeFormatAsync(IRandomAccessSource source, CancellationToken cancellationToken)
    {
        var head = new byte[(int)Math.Min(ProbeLength, source.Length)];
        var read = await source.ReadAsync(0, head, cancellationToken).ConfigureAwait(false);
        var tail = new byte[(int)Math.Min(ProbeTailLength, source.Length)];
        var tailRead = await source.ReadAsync(source.Length - tail.Length, tail, cancellationToken).ConfigureAwait(false);
        return Formats.First(f => f.Probe(head.AsSpan(0, read), tail.AsSpan(0, tailRead), source.Length));
    }
}
