using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Whitesky.Nbd.Server;

namespace Whitesky.Benchmarks;

/// <summary>
/// What a server export does per 2 MiB WRITE (the request size whitesky's copies send): into the in-memory disk
/// (over pages that exist, and into holes, which allocates the pages) and into a sparse file in the temp folder
/// (overwriting allocated blocks in the page cache; no flush). Offsets walk through 1 GiB.
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
public class BackendBenchmarks
{
    private const int RequestSize = 2 * 1024 * 1024;
    private const long DiskSize = 1L << 30;

    private readonly byte[] _data = new byte[RequestSize];
    private MemoryBackend _memory = null!;
    private SparseFileBackend _file = null!;
    private string _directory = null!;
    private long _memoryOffset;
    private long _holeOffset;
    private long _fileOffset;

    [GlobalSetup]
    public void Setup()
    {
        new Random(42).NextBytes(_data);
        _memory = new MemoryBackend(DiskSize);
        _directory = Directory.CreateTempSubdirectory("wsnbd-bench-").FullName;
        _file = SparseFileBackend.Create(Path.Combine(_directory, "disk.raw"), DiskSize);

        // Allocate the file's blocks first: the benchmark then measures the backend over the page cache, not
        // the file system allocating 1 GiB (about 9x slower per request, and noisy).
        for (long offset = 0; offset < DiskSize; offset += RequestSize)
        {
            _file.WriteAsync(offset, _data, fua: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _memory.DisposeAsync();
        await _file.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public ValueTask MemoryBackend_write_2MiB() => _memory.WriteAsync(Next(ref _memoryOffset), _data, fua: false, CancellationToken.None);

    /// <summary>Trims the request's range first, so the write allocates its 32 pages: the cost of a fresh copy.</summary>
    [Benchmark]
    public async ValueTask MemoryBackend_write_2MiB_into_holes()
    {
        var offset = Next(ref _holeOffset);
        await _memory.TrimAsync(offset, RequestSize, fua: false, CancellationToken.None);
        await _memory.WriteAsync(offset, _data, fua: false, CancellationToken.None);
    }

    [Benchmark]
    public ValueTask SparseFileBackend_write_2MiB() => _file.WriteAsync(Next(ref _fileOffset), _data, fua: false, CancellationToken.None);

    private static long Next(ref long offset)
    {
        var current = offset;
        offset = (offset + RequestSize) % DiskSize;
        return current;
    }
}
