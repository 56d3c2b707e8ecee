using System.Text.Json;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>A read-only export, whether the export is configured read-only or its backend cannot write.</summary>
public class ReadOnlyExportTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    public static TheoryData<bool, bool> ReadOnlyBy => new() { { true, false }, { false, true } };

    [Theory]
    [MemberData(nameof(ReadOnlyBy))]
    public async Task Nbdcopy_cannot_write_into_a_read_only_export_but_can_read_it(bool exportReadOnly, bool backendReadOnly)
    {
        var backend = new ArrayBackend(DiskPattern.Size, readOnly: backendReadOnly);
        DiskPattern.Create(seed: 51).CopyTo(backend.Bytes, 0);
        var before = TestData.Sha256(backend.Bytes);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: true, tls: false, backend, readOnly: exportReadOnly);

        using var json = JsonDocument.Parse(await ExternalTool.RunAsync("nbdinfo", ["--json", server.Uri()]).WaitAsync(Limit));
        var export = Assert.Single(json.RootElement.GetProperty("exports").EnumerateArray());
        Assert.True(export.GetProperty("is_read_only").GetBoolean());
        Assert.False(export.GetProperty("can_zero").GetBoolean());
        Assert.False(export.GetProperty("can_trim").GetBoolean());
        Assert.False(export.GetProperty("can_fast_zero").GetBoolean());

        var source = server.Directory.File("in.raw");
        await File.WriteAllBytesAsync(source, TestData.Random(DiskPattern.Size, seed: 52)).WaitAsync(Limit);
        var (exitCode, _, stderr) = await ExternalTool.TryRunAsync("nbdcopy", [source, server.Uri()]).WaitAsync(Limit);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("read", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, TestData.Sha256(backend.Bytes));

        var output = server.Directory.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), output]).WaitAsync(Limit);
        Assert.Equal(before, await TestData.Sha256FileAsync(output).WaitAsync(Limit));
        await server.WhenIdleAsync();
        Assert.DoesNotContain(server.Commands, c => c.Command is NbdCommand.Write or NbdCommand.WriteZeroes or NbdCommand.Trim);
    }

    [Fact]
    public async Task The_client_refuses_writes_to_a_read_only_export_before_sending_them()
    {
        var backend = new ArrayBackend(1 << 20);
        TestData.Random(1 << 20, seed: 53).CopyTo(backend.Bytes, 0);
        var before = TestData.Sha256(backend.Bytes);
        await using var server = await ServerUnderTest.StartAsync(unixSocket: false, tls: false, backend, readOnly: true);
        await using var client = await server.ConnectAsync();

        Assert.True(client.Export.IsReadOnly);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.WriteAsync(0, new byte[4096]));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.WriteZeroesAsync(0, 4096));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.TrimAsync(0, 4096));

        // Nothing reached the server; reads and flushes still work on the same connection.
        var read = new byte[1 << 20];
        await client.ReadAsync(0, read).AsTask().WaitAsync(Limit);
        await client.FlushAsync().AsTask().WaitAsync(Limit);
        Assert.Equal(before, TestData.Sha256(read));
        Assert.Equal(before, TestData.Sha256(backend.Bytes));
        await server.WhenCommandsAsync(2);
        Assert.Equal([NbdCommand.Read, NbdCommand.Flush], server.Commands.Select(c => c.Command).Order());
    }
}
