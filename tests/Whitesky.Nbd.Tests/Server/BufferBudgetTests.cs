using Whitesky.Nbd.Server;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server;

/// <summary>The server-wide buffer budget: requests beyond it wait their turn instead of taking more memory.</summary>
public class BufferBudgetTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>An array backend whose writes wait at a gate, counting how many are inside at once.</summary>
    private sealed class GatedBackend(int size) : NbdBackend
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inside;

        public byte[] Bytes { get; } = new byte[size];

        public int Entered;

        public int MaxInside;

        public override long Size => Bytes.Length;

        public void Open() => _gate.TrySetResult();

        public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            Bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Entered);
            var inside = Interlocked.Increment(ref _inside);
            InterlockedMax(ref MaxInside, inside);
            await _gate.Task;
            data.Span.CopyTo(Bytes.AsSpan((int)offset));
            Interlocked.Decrement(ref _inside);
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    [Fact]
    public async Task Writes_beyond_the_budget_wait_until_buffers_are_returned_and_then_all_land()
    {
        using var dir = new TempDirectory();
        var backend = new GatedBackend(16 << 20);
        await using var server = await NbdServer.StartAsync(new NbdServerOptions
        {
            Listen = [NbdEndpoint.Unix(dir.File("s.sock"))],
            Exports = [new NbdServerExport { Name = "", Backend = backend }],
            MaxPayloadSize = 1 << 20,
            MaxBufferedBytes = 3L << 20,
        });
        await using var client = await NbdClient.ConnectAsync(new NbdClientOptions { Endpoint = server.Endpoints[0] }).WaitAsync(Limit);

        var data = TestData.Random(8 << 20, seed: 5);
        var writes = Enumerable.Range(0, 8).Select(i => client.WriteAsync((long)i << 20, data.AsMemory(i << 20, 1 << 20)).AsTask()).ToArray();

        // Three 1 MiB writes fill the 3 MiB budget; the fourth waits for bytes (the server stops reading there).
        using (var wait = new CancellationTokenSource(Limit))
        {
            while (server.Buffers.Waiting != 1 || Volatile.Read(ref backend.Entered) != 3)
            {
                await Task.Delay(5, wait.Token);
            }
        }

        Assert.Equal(0, server.Buffers.Available);
        Assert.All(writes, w => Assert.False(w.IsCompleted));

        backend.Open();
        await Task.WhenAll(writes).WaitAsync(Limit);
        Assert.Equal(8, backend.Entered);
        Assert.True(backend.MaxInside <= 3, $"{backend.MaxInside} writes held buffers at once");
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(backend.Bytes.AsSpan(0, 8 << 20)));
        Assert.Equal(3L << 20, server.Buffers.Available);
    }
}
