using System.Diagnostics;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>
/// nbdkit's delay filter holding READ replies back, against the request timeout and cancellation.
/// What the client does (NbdConnection.WaitForReplyAsync / NbdPendingRequest.Abandon): a timed-out or
/// cancelled call returns at once and its buffer is never written again, but the request stays
/// registered under its cookie, holding its in-flight slot, until the late reply arrives and is
/// consumed; the connection stays up. A call that finds every slot held while the server has answered
/// nothing for a whole request timeout fails rather than wait for ever.
/// </summary>
public class SlowServerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private const byte Sentinel = 0x5A;

    [Fact]
    public async Task A_read_past_the_request_timeout_fails_with_a_connection_error_naming_it_and_the_connection_stays_usable()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, "--filter=delay", "memory", "64M", "delay-read=5");
        var options = server.Options() with { RequestTimeout = TimeSpan.FromMilliseconds(200) };
        await using var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => client.ReadAsync(65536, new byte[4096]).AsTask().WaitAsync(Limit));
        clock.Stop();
        Assert.Contains($"The NBD server at {server.Endpoint} did not answer READ at offset 65536 length 4096 within 0.2 s", failure.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"A 200 ms request timeout took {clock.Elapsed} (the server answers after 5 s).");

        // Only the call gave up, not the connection: undelayed commands still go through while the READ is outstanding.
        var data = TestData.Random(8192, seed: 31);
        await client.WriteAsync(1024 * 1024, data).AsTask().WaitAsync(TimeSpan.FromSeconds(3));
        await client.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(3));

        // Confirmed from outside: another connection (no timeout) reads the write back.
        await using var reader = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);
        var back = new byte[data.Length];
        await reader.ReadAsync(1024 * 1024, back).AsTask().WaitAsync(Limit);
        Assert.Equal(TestData.Sha256(data), TestData.Sha256(back));
    }

    [Fact]
    public async Task A_timed_out_read_holds_its_slot_until_its_late_reply_which_never_reaches_the_buffer()
    {
        using var dir = new TempDirectory();
        var log = new NbdkitLogFile(dir.File("requests.log"));
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=log", "--filter=delay", "memory", "64M", log.Argument, "delay-read=2");
        var options = server.Options() with { RequestTimeout = TimeSpan.FromMilliseconds(200), MaxRequestsInFlight = 1 };
        await using var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);

        var pattern = TestData.Random(4096, seed: 32);
        await client.WriteAsync(0, pattern).AsTask().WaitAsync(Limit);

        var buffer = Filled(4096, Sentinel);
        var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => client.ReadAsync(0, buffer).AsTask().WaitAsync(Limit));
        Assert.Contains("did not answer READ at offset 0 length 4096 within 0.2 s", failure.Message, StringComparison.Ordinal);

        // The only slot is the timed-out READ's until the server answers it; the server is silent, so a
        // further call gives up after the request timeout instead of queueing for ever.
        var data = TestData.Random(4096, seed: 33);
        var queued = await Assert.ThrowsAsync<NbdConnectionException>(() => client.WriteAsync(8192, data).AsTask().WaitAsync(Limit));
        Assert.Contains("WRITE at offset 8192 length 4096 could not be sent: every request slot is held by a request", queued.Message, StringComparison.Ordinal);

        // Once nbdkit has finished the READ its reply frees the slot: the connection works again, and the
        // reply's 4096 data bytes were consumed in step (else this WRITE's reply would not parse).
        await log.WaitForReturnsAsync(1, Limit, "Read");
        await client.WriteAsync(8192, data).AsTask().WaitAsync(Limit);
        Assert.All(buffer, b => Assert.Equal(Sentinel, b));

        await using var reader = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);
        var back = new byte[12288];
        await reader.ReadAsync(0, back).AsTask().WaitAsync(Limit);
        Assert.Equal(pattern, back[..4096]);
        Assert.Equal(data, back[8192..]);
    }

    [Fact]
    public async Task Cancelling_a_pending_read_returns_at_once_and_the_late_reply_never_reaches_the_buffer()
    {
        using var dir = new TempDirectory();
        var log = new NbdkitLogFile(dir.File("requests.log"));
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=log", "--filter=delay", "memory", "64M", log.Argument, "delay-read=2");
        var options = server.Options() with { MaxRequestsInFlight = 1 };
        await using var client = await NbdClient.ConnectAsync(options).WaitAsync(Limit);

        var pattern = TestData.Random(4096, seed: 34);
        await client.WriteAsync(0, pattern).AsTask().WaitAsync(Limit);

        var buffer = Filled(4096, Sentinel);
        using var cancel = new CancellationTokenSource();
        var read = client.ReadAsync(0, buffer, cancel.Token).AsTask();
        await log.WaitForRequestsAsync(1, Limit, "Read");

        var clock = Stopwatch.StartNew();
        await cancel.CancelAsync();
        var canceled = await Assert.ThrowsAsync<OperationCanceledException>(() => read.WaitAsync(Limit));
        clock.Stop();
        Assert.Equal(cancel.Token, canceled.CancellationToken);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"Cancellation took {clock.Elapsed}; the server answers after 2 s.");
        Assert.All(buffer, b => Assert.Equal(Sentinel, b));

        // The single slot is free only once the late reply was consumed; then this read is sent and answered.
        var again = new byte[4096];
        await client.ReadAsync(0, again).AsTask().WaitAsync(Limit);
        Assert.Equal(pattern, again);
        Assert.Equal(2, log.Requests("Read").Count);
        Assert.All(buffer, b => Assert.Equal(Sentinel, b));
    }

    private static byte[] Filled(int length, byte value)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(value);
        return buffer;
    }
}
