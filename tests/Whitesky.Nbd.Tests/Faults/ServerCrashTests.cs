using System.Diagnostics;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>nbdkit killed while requests are in flight: every pending call fails promptly, and so does every later one.</summary>
public class ServerCrashTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Killing_the_server_fails_every_pending_call_promptly_with_a_connection_error(bool unixSocket)
    {
        using var dir = new TempDirectory();
        var log = new NbdkitLogFile(dir.File("requests.log"));

        // 64 worker threads so all 64 requests are taken off the socket and sit in the delay filter.
        await using var server = await ServerProcess.StartNbdkitAsync(unixSocket,
            "--threads=64", "--filter=log", "--filter=delay", "memory", "64M", log.Argument, "delay-read=60", "delay-write=60");
        var client = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);
        await using (client)
        {
            const int size = 64 * 1024;
            var data = TestData.Random(size, seed: 21);
            var calls = Enumerable.Range(0, 64)
                .Select(i => i % 2 == 0
                    ? client.ReadAsync((long)i * size, new byte[size]).AsTask()
                    : client.WriteAsync((long)i * size, data).AsTask())
                .ToArray();

            await log.WaitForRequestsAsync(64, Limit, "Read", "Write");
            Assert.All(calls, c => Assert.False(c.IsCompleted));

            var clock = Stopwatch.StartNew();
            server.Kill();
            try
            {
                await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (NbdConnectionException)
            {
            }

            clock.Stop();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"The pending calls took {clock.Elapsed} to fail.");
            foreach (var call in calls)
            {
                Assert.True(call.IsFaulted, "A call survived the server's death.");
                var failure = Assert.IsType<NbdConnectionException>(call.Exception!.InnerException);
                Assert.Contains(server.Endpoint.ToString(), failure.Message, StringComparison.Ordinal);
                Assert.Contains("64 request(s) unanswered", failure.Message, StringComparison.Ordinal);
            }

            // Later calls fail at once, without waiting for any timeout.
            var later = new[]
            {
                client.ReadAsync(0, new byte[512]).AsTask(),
                client.WriteAsync(0, new byte[512]).AsTask(),
                client.FlushAsync().AsTask(),
            };
            foreach (var call in later)
            {
                var failure = await Assert.ThrowsAsync<NbdConnectionException>(() => call.WaitAsync(TimeSpan.FromSeconds(2)));
                Assert.Contains("request(s) unanswered", failure.Message, StringComparison.Ordinal);
            }
        }
    }
}
