namespace Whitesky.Migration.Ovf;

/// <summary>What <see cref="StreamOptimizedVmdkWriter"/> wrote.</summary>
/// <param name="Length">Bytes of the VMDK file.</param>
/// <param name="Capacity">The virtual size in bytes.</param>
/// <param name="PopulatedBytes">Bytes of the grains written (non-zero data of the source).</param>
/// <param name="GrainsWritten">How many 64 KiB grains hold data.</param>
public sealed record VmdkWriteResult(long Length, long Capacity, long PopulatedBytes, long GrainsWritten);
