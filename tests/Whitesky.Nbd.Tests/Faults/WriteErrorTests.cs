using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>
/// nbdkit failing some writes while many are in flight. Exactly the failed calls must throw, each with
/// the server's errno and its own command, offset and length; the others succeed, and the disk shows it:
/// every successful range reads back its data, every failed range is still zero.
/// </summary>
public class WriteErrorTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private const int WriteSize = 64 * 1024;

    /// <summary>
    /// An eval-plugin disk that fails writes by position: block index % 10 == 3 gets EIO, == 7 gets ENOSPC.
    /// The failing set is known in advance, so the test can check it exactly.
    /// </summary>
    private static readonly string[] PositionalFailureDisk =
    [
        "eval",
        "get_size=echo 16M",
        "get_ready=truncate -s 16M $tmpdir/disk",
        "pread=dd if=$tmpdir/disk skip=$4 count=$3 iflag=count_bytes,skip_bytes status=none",
        """
        pwrite=case $(( $4 / 65536 % 10 )) in
          3) cat >/dev/null; echo "EIO refused write at $4" >&2; exit 1 ;;
          7) cat >/dev/null; echo "ENOSPC no room at $4" >&2; exit 1 ;;
        esac
        exec dd of=$tmpdir/disk bs=65536 iflag=fullblock seek=$4 oflag=seek_bytes conv=notrunc status=none
        """,
    ];

    [Fact]
    public async Task Of_200_concurrent_writes_exactly_those_the_server_fails_throw_with_their_errno_and_range()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true, PositionalFailureDisk);
        await using var client = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);

        const int count = 200;
        var data = TestData.Random(count * WriteSize, seed: 11);
        var writes = Enumerable.Range(0, count)
            .Select(i => client.WriteAsync((long)i * WriteSize, data.AsMemory(i * WriteSize, WriteSize)).AsTask())
            .ToArray();
        try
        {
            await Task.WhenAll(writes).WaitAsync(Limit);
        }
        catch (NbdException)
        {
            // Inspected one by one below.
        }

        for (var i = 0; i < count; i++)
        {
            NbdError? expected = (i % 10) switch
            {
                3 => NbdError.EIO,
                7 => NbdError.ENOSPC,
                _ => null,
            };
            if (expected is null)
            {
                Assert.True(writes[i].IsCompletedSuccessfully, $"Write #{i} should have succeeded: {writes[i].Exception?.InnerException?.Message}");
                continue;
            }

            var failure = Assert.IsType<NbdException>(writes[i].Exception?.InnerException);
            Assert.Equal(expected, failure.Error);
            Assert.Equal(expected.ToString(), failure.ErrorName);
            Assert.Equal(NbdCommand.Write, failure.Command);
            Assert.Equal((long)i * WriteSize, failure.Offset);
            Assert.Equal(WriteSize, failure.Length);
            Assert.Contains($"WRITE at offset {(long)i * WriteSize} length {WriteSize}: {expected}", failure.Message, StringComparison.Ordinal);
        }

        // The failures did not poison the connection: the whole span reads back in one request.
        var disk = new byte[count * WriteSize];
        await client.ReadAsync(0, disk).AsTask().WaitAsync(Limit);
        for (var i = 0; i < count; i++)
        {
            var range = disk.AsSpan(i * WriteSize, WriteSize);
            if (i % 10 is 3 or 7)
            {
                Assert.True(!range.ContainsAnyExcept((byte)0), $"Failed write #{i} left data on the disk.");
            }
            else
            {
                Assert.True(range.SequenceEqual(data.AsSpan(i * WriteSize, WriteSize)), $"Write #{i} did not read back.");
            }
        }
    }

    [Fact]
    public async Task Randomly_injected_EIO_fails_only_the_calls_whose_data_did_not_land()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=error", "memory", "64M", "error-pwrite=EIO", "error-pwrite-rate=40%");
        await using var client = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);

        const int count = 200;
        var data = TestData.Random(count * WriteSize, seed: 12);
        var writes = Enumerable.Range(0, count)
            .Select(i => client.WriteAsync((long)i * WriteSize, data.AsMemory(i * WriteSize, WriteSize)).AsTask())
            .ToArray();
        try
        {
            await Task.WhenAll(writes).WaitAsync(Limit);
        }
        catch (NbdException)
        {
        }

        var failed = Enumerable.Range(0, count).Where(i => !writes[i].IsCompletedSuccessfully).ToHashSet();

        // With 200 draws at 40%, all-or-nothing has a probability below 1e-40.
        Assert.NotEmpty(failed);
        Assert.NotEqual(count, failed.Count);
        foreach (var i in failed)
        {
            var failure = Assert.IsType<NbdException>(writes[i].Exception?.InnerException);
            Assert.Equal(NbdError.EIO, failure.Error);
            Assert.Equal(NbdCommand.Write, failure.Command);
            Assert.Equal((long)i * WriteSize, failure.Offset);
            Assert.Equal(WriteSize, failure.Length);
        }

        // The error filter fails a write before it reaches the plugin, so the disk tells which calls really failed.
        var disk = new byte[count * WriteSize];
        await client.ReadAsync(0, disk).AsTask().WaitAsync(Limit);
        for (var i = 0; i < count; i++)
        {
            var range = disk.AsSpan(i * WriteSize, WriteSize);
            Assert.True(failed.Contains(i)
                ? !range.ContainsAnyExcept((byte)0)
                : range.SequenceEqual(data.AsSpan(i * WriteSize, WriteSize)),
                $"Write #{i} reported {(failed.Contains(i) ? "failure" : "success")} but the disk disagrees.");
        }
    }

    [Theory]
    [InlineData("EIO", NbdError.EIO)]
    [InlineData("ENOSPC", NbdError.ENOSPC)]
    public async Task Writes_fail_with_the_injected_errno_while_the_trigger_file_exists_and_succeed_after(string errno, NbdError expected)
    {
        using var dir = new TempDirectory();
        var trigger = dir.File("inject");
        await File.WriteAllTextAsync(trigger, "on");
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=error", "memory", "64M", "error-pwrite=" + errno, "error-pwrite-rate=100%", "error-pwrite-file=" + trigger);
        await using var client = await NbdClient.ConnectAsync(server.Options()).WaitAsync(Limit);

        const int perPhase = 32;
        var data = TestData.Random(2 * perPhase * WriteSize, seed: 13);
        Task Write(int i) => client.WriteAsync((long)i * WriteSize, data.AsMemory(i * WriteSize, WriteSize)).AsTask();

        var refused = Enumerable.Range(0, perPhase).Select(Write).ToArray();
        var readWhileRefusing = new byte[WriteSize];
        var read = client.ReadAsync(0, readWhileRefusing).AsTask();
        try
        {
            await Task.WhenAll(refused).WaitAsync(Limit);
        }
        catch (NbdException)
        {
        }

        await read.WaitAsync(Limit);
        Assert.False(readWhileRefusing.AsSpan().ContainsAnyExcept((byte)0), "A read while writes were refused saw data.");
        for (var i = 0; i < perPhase; i++)
        {
            var failure = Assert.IsType<NbdException>(refused[i].Exception?.InnerException);
            Assert.Equal(expected, failure.Error);
            Assert.Equal(errno, failure.ErrorName);
            Assert.Equal(NbdCommand.Write, failure.Command);
            Assert.Equal((long)i * WriteSize, failure.Offset);
            Assert.Equal(WriteSize, failure.Length);
        }

        File.Delete(trigger);
        await Task.WhenAll(Enumerable.Range(perPhase, perPhase).Select(Write)).WaitAsync(Limit);
        await client.FlushAsync().AsTask().WaitAsync(Limit);

        var disk = new byte[2 * perPhase * WriteSize];
        await client.ReadAsync(0, disk).AsTask().WaitAsync(Limit);
        Assert.False(disk.AsSpan(0, perPhase * WriteSize).ContainsAnyExcept((byte)0), "A refused write reached the disk.");
        Assert.Equal(TestData.Sha256(data.AsSpan(perPhase * WriteSize)), TestData.Sha256(disk.AsSpan(perPhase * WriteSize)));
    }
}
