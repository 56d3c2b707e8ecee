using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Server.Interop;

/// <summary>
/// qemu-img writing into and comparing against NbdServer exports. Over TLS-PSK qemu needs a
/// tls-creds-psk object (DIR/keys.psk, username) and the target given as --image-opts.
/// </summary>
public class QemuImgInteropTests
{
    private static readonly TimeSpan Limit = ServerUnderTest.Limit;

    public static TheoryData<bool, bool> Transports => NbdinfoInteropTests.Transports;

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Qemu_img_convert_writes_a_raw_file_into_the_export_and_compare_finds_them_equal(bool unixSocket, bool tls)
    {
        var backend = new ArrayBackend(DiskPattern.Size);
        TestData.Random(DiskPattern.Size, seed: 31).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend);
        var source = server.Directory.File("in.raw");
        var content = DiskPattern.Create(seed: 32);
        await File.WriteAllBytesAsync(source, content).WaitAsync(Limit);
        var (target, objects) = server.QemuTarget();

        await ExternalTool.RunAsync("qemu-img", ["convert", .. objects, "-n", "-f", "raw", "--target-image-opts", source, target]).WaitAsync(Limit);

        Assert.Equal(TestData.Sha256(content), TestData.Sha256(backend.Bytes));
        await server.WhenIdleAsync();
        Assert.DoesNotContain(server.Commands, c => c.Error != NbdError.None);

        string[] compare = ["compare", .. objects, "--image-opts", $"driver=raw,file.driver=file,file.filename={source}", target];
        var same = await ExternalTool.TryRunAsync("qemu-img", compare).WaitAsync(Limit);
        Assert.True(same.ExitCode == 0, $"qemu-img compare exited with {same.ExitCode}: {same.StdOut} {same.StdErr}");
        Assert.Contains("Images are identical", same.StdOut, StringComparison.Ordinal);

        // compare really reads the export: one changed byte inside a zero run is found (qemu names its sector).
        const int changed = (1 << 20) + (24 * 512);
        backend.Bytes[changed] = 0x5a;
        var differ = await ExternalTool.TryRunAsync("qemu-img", compare).WaitAsync(Limit);
        Assert.Equal(1, differ.ExitCode);
        Assert.Contains($"offset {changed}!", differ.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Qemu_img_convert_to_an_nbd_uri_fills_the_export(bool unixSocket)
    {
        var backend = new ArrayBackend(DiskPattern.Size);
        TestData.Random(DiskPattern.Size, seed: 33).CopyTo(backend.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls: false, backend);
        var source = server.Directory.File("in.raw");
        var content = DiskPattern.Create(seed: 34);
        await File.WriteAllBytesAsync(source, content).WaitAsync(Limit);

        await ExternalTool.RunAsync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, server.Uri()]).WaitAsync(Limit);

        Assert.Equal(TestData.Sha256(content), TestData.Sha256(backend.Bytes));
        var same = await ExternalTool.TryRunAsync("qemu-img", ["compare", "-f", "raw", "-F", "raw", source, server.Uri()]).WaitAsync(Limit);
        Assert.True(same.ExitCode == 0, $"qemu-img compare exited with {same.ExitCode}: {same.StdOut} {same.StdErr}");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Qemu_io_writes_zeroes_with_and_without_holes_discards_and_flushes(bool unixSocket, bool tls)
    {
        const int mib = 1 << 20;
        var backend = new RecordingBackend(new ArrayBackend(8 * mib));
        var original = TestData.Random(8 * mib, seed: 35);
        original.CopyTo(backend.Inner.Bytes, 0);
        await using var server = await ServerUnderTest.StartAsync(unixSocket, tls, backend);
        var (target, objects) = server.QemuTarget();

        string[] commands = ["write -P 0x5a 0 1M", "write -z 1M 1M", "write -z -u 2M 1M", "discard 3M 1M", "flush", "read -P 0x5a 0 1M", "read -P 0 1M 3M"];
        var output = await ExternalTool.RunAsync("qemu-io", [.. objects, "--image-opts", .. commands.SelectMany(c => new[] { "-c", c }), target]).WaitAsync(Limit);
        Assert.DoesNotContain("Pattern verification failed", output, StringComparison.Ordinal);

        var expected = original.ToArray();
        expected.AsSpan(0, mib).Fill(0x5a);
        Array.Clear(expected, mib, 3 * mib); // zeroed twice, then discarded (the test backend zeroes what it trims)
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(backend.Inner.Bytes));

        // -z asks WRITE_ZEROES with NO_HOLE, -z -u without it (the backend may unmap); discard is TRIM. (FUA is
        // qemu-io's choice: its default cache mode is writethrough.)
        var calls = backend.Calls.Select(c => c with { Fua = false }).Where(c => c.Operation is "zero" or "trim" or "flush").ToList();
        Assert.Equal(
            [new BackendCall("zero", mib, mib, MayPunchHole: false), new BackendCall("zero", 2 * mib, mib, MayPunchHole: true), new BackendCall("trim", 3 * mib, mib)],
            calls.Where(c => c.Operation != "flush"));
        Assert.Contains(new BackendCall("flush", 0, 0), calls);
        await server.WhenIdleAsync();
        Assert.DoesNotContain(server.Commands, c => c.Error != NbdError.None);
    }
}
