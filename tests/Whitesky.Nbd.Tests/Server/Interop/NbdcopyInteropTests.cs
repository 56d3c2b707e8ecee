using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>libnbd's nbdcopy into and out of NbdServer exports, over TCP and a Unix socket, plain and TLS-PSK.</summary>
public class NbdcopyInteropTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    public static TheoryData<bool, bool> Transports => NbdinfoInteropTests.Transports;

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Nbdcopy_copies_a_file_into_the_export_and_the_export_back_into_a_file(bool unixSocket, bool tls)
    {
        // The export starts full of other data, so the zero runs of the file must really be written as zeroes.
        var backend = new ArrayBackend(DiskPattern.Size);
        TestData.Random(DiskPattern.Size, seed: 21).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend);
        var source = server.Directory.File("in.raw");
        var content = DiskPattern.Create(seed: 22);
        await File.WriteAllBytesAsync(source, content).WaitAsync(Limit);

        await ExternalTool.RunAsync("nbdcopy", [source, server.Uri()]).WaitAsync(Limit);

        Assert.Equal(TestData.Sha256(content), TestData.Sha256(backend.Bytes));
        await server.WhenIdleAsync();
        Assert.True(server.Count(NbdCommand.Write) > 0);
        Assert.DoesNotContain(server.Commands, c => c.Error != NbdError.None);

        // The other way: whatever the export holds now lands in the file.
        var exported = TestData.Random(DiskPattern.Size, seed: 23);
        Array.Clear(exported, 5 << 20, 1 << 20);
        exported.CopyTo(backend.Bytes, 0);
        var output = server.Directory.File("out.raw");
        await ExternalTool.RunAsync("nbdcopy", [server.Uri(), output]).WaitAsync(Limit);

        Assert.Equal(TestData.Sha256(exported), await TestData.Sha256FileAsync(output).WaitAsync(Limit));
        Assert.Equal(TestData.Sha256(exported), TestData.Sha256(backend.Bytes));
    }
}
