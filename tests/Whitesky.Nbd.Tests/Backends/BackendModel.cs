using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Backends;

/// <summary>
/// What a backend should hold, kept in an array: every operation goes to both, and the backend's bytes are
/// compared with the array. Trimmed ranges are expected to read as zeroes when the backend can trim (both
/// backends free or punch them).
/// </summary>
public sealed class BackendModel
{
    private readonly NbdBackend _backend;

    public BackendModel(NbdBackend backend)
    {
        _backend = backend;
        Expected = new byte[checked((int)backend.Size)];
    }

    public byte[] Expected { get; }

    public async Task WriteAsync(long offset, byte[] data, bool fua = false)
    {
        await _backend.WriteAsync(offset, data, fua, CancellationToken.None);
        data.CopyTo(Expected, offset);
    }

    public async Task ZeroAsync(long offset, long length, bool mayPunchHole)
    {
        await _backend.WriteZeroesAsync(offset, length, mayPunchHole, fastOnly: false, fua: false, CancellationToken.None);
        Array.Clear(Expected, (int)offset, (int)length);
    }

    public async Task TrimAsync(long offset, long length)
    {
        await _backend.TrimAsync(offset, length, fua: false, CancellationToken.None);
        if (_backend.CanTrim)
        {
            Array.Clear(Expected, (int)offset, (int)length);
        }
    }

    /// <summary>Random writes (random content, unaligned offsets and lengths), zeroes, trims and spot reads.</summary>
    public async Task RunRandomAsync(int seed, int operations, int maxLength)
    {
        var random = new Random(seed);
        var size = Expected.Length;
        for (var i = 0; i < operations; i++)
        {
            var offset = random.Next(size);
            var length = Math.Min(size - offset, 1 + random.Next(maxLength));
            var dice = random.Next(100);
            if (dice < 55)
            {
                await WriteAsync(offset, TestData.Random(length, seed * 1000 + i), fua: dice < 3);
            }
            else if (dice < 70)
            {
                await ZeroAsync(offset, length, mayPunchHole: true);
            }
            else if (dice < 80)
            {
                await ZeroAsync(offset, length, mayPunchHole: false);
            }
            else if (dice < 90)
            {
                await TrimAsync(offset, length);
            }
            else
            {
                var actual = new byte[length];
                await _backend.ReadAsync(offset, actual, CancellationToken.None);
                AssertSame(Expected.AsSpan(offset, length), actual, offset, $"spot read after operation {i}");
            }
        }
    }

    /// <summary>Reads the whole backend (in odd-sized pieces, so reads straddle pages and blocks) and compares.</summary>
    public async Task AssertMatchesAsync()
    {
        var actual = await ReadAllAsync(_backend);
        AssertSame(Expected, actual, 0, "whole device");
    }

    public static async Task<byte[]> ReadAllAsync(NbdBackend backend)
    {
        var actual = new byte[checked((int)backend.Size)];
        const int piece = 1024 * 1024 + 4097;
        for (var offset = 0; offset < actual.Length; offset += piece)
        {
            await backend.ReadAsync(offset, actual.AsMemory(offset, Math.Min(piece, actual.Length - offset)), CancellationToken.None);
        }

        return actual;
    }

    public static void AssertSame(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, long baseOffset, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var mismatch = expected.CommonPrefixLength(actual);
        if (mismatch < expected.Length)
        {
            Assert.Fail($"{what}: first difference at offset {baseOffset + mismatch}: expected {expected[mismatch]:x2}, read {actual[mismatch]:x2}");
        }

        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(actual));
    }

    /// <summary>The whole allocation map from repeated calls, checking each answer starts where asked and is consecutive.</summary>
    public static async Task<List<NbdExtent>> MapAsync(NbdBackend backend, long offset, long length, int maxPerCall)
    {
        var result = new List<NbdExtent>();
        var position = offset;
        var end = offset + length;
        while (position < end)
        {
            var extents = await backend.GetAllocationAsync(position, end - position, CancellationToken.None);
            Assert.NotEmpty(extents);
            Assert.True(extents.Count <= maxPerCall, $"{extents.Count} extents in one call");
            foreach (var extent in extents)
            {
                Assert.Equal(position, extent.Offset);
                Assert.True(extent.Length > 0);
                Assert.True(extent.End <= end, $"extent {extent} past the asked end {end}");
                if (result.Count > 0 && result[^1].Flags == extent.Flags)
                {
                    result[^1] = result[^1] with { Length = result[^1].Length + extent.Length };
                }
                else
                {
                    result.Add(extent);
                }

                position = extent.End;
            }
        }

        return result;
    }
}
