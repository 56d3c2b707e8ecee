namespace Whitesky.DiskFormats.Raw;

/// <summary>Raw images: the file is the disk. Matches anything, so it is probed last.</summary>
internal sealed class RawFormat : IDiskFormat
{
    public string Name => "raw";

    public bool Probe(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) => true;

    public Task<IVirtualDisk> OpenAsync(IRandomAccessSource source, DiskOpenContext context, bool ownsSource, CancellationToken cancellationToken) =>
        Task.FromResult<IVirtualDisk>(new RawDisk(source, ownsSource));
}
