using Whitesky.DiskFormats;

namespace Whitesky.Emulator.Importing;

/// <summary>A seekable stream (an entry of an OVA) as a random-access source; reads take turns, which the emulator can afford.</summary>
internal sealed class SeekableStreamSource(Stream stream, string name) : IRandomAccessSource
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    public long Length => stream.Length;

    public string Name => name;

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            stream.Position = offset;
            var total = 0;
            while (total < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total;
        }
        finally
        {
            _turn.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync().ConfigureAwait(false);
        _turn.Dispose();
    }
}
