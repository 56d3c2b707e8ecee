using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Faults;

/// <summary>A server with named exports asked for one it does not have.</summary>
public class UnknownExportTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Nbdkit_with_strict_export_names_refuses_an_unknown_name_with_NBD_REP_ERR_UNKNOWN()
    {
        await using var server = await ServerProcess.StartNbdkitAsync(true,
            "--filter=exportname", "memory", "1M", "exportname-strict=true", "exportname=disk1", "exportname=disk2");

        // The server is right about the names it has...
        await using (var known = await NbdClient.ConnectAsync(server.Options("disk2")).WaitAsync(Limit))
        {
            Assert.Equal(("disk2", 1024L * 1024), (known.Export.Name, known.Export.Size));
        }

        // ...and refuses the one it has not.
        var failure = await Assert.ThrowsAsync<NbdOptionException>(() => NbdClient.ConnectAsync(server.Options("no-such-disk")).WaitAsync(Limit));
        Assert.Equal("NBD_REP_ERR_UNKNOWN", failure.ReplyName);
        Assert.Contains("has no export named 'no-such-disk'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Qemu_nbd_with_an_export_name_refuses_another_name_with_NBD_REP_ERR_UNKNOWN()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "2M"]);
        await using var server = await ServerProcess.StartQemuNbdAsync(image, "qcow2", "--export-name=vm-disk");

        await using (var known = await NbdClient.ConnectAsync(server.Options("vm-disk")).WaitAsync(Limit))
        {
            Assert.Equal(2L * 1024 * 1024, known.Export.Size);
        }

        var failure = await Assert.ThrowsAsync<NbdOptionException>(() => NbdClient.ConnectAsync(server.Options("vm-disk-2")).WaitAsync(Limit));
        Assert.Equal("NBD_REP_ERR_UNKNOWN", failure.ReplyName);
        Assert.Contains("no export named 'vm-disk-2'", failure.Message, StringComparison.Ordinal);
    }
}
