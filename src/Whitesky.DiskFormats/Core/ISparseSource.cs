namespace Whitesky.DiskFormats;

/// <summary>A source that knows where its data is (a GNU sparse tar entry): the rest reads as zeroes and is unallocated.</summary>
internal interface ISparseSource : IRandomAccessSource
{
    /// <summary>The first run of data that ends after <paramref name="offset"/>, or null when only holes follow.</summary>
    (long Start, long End)? NextData(long offset);
}
