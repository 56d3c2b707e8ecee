using System.Text;
using Whitesky.Migration.Ovf;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migration.Tests.Ovf;

/// <summary>The ustar writer and the OVA index against GNU tar.</summary>
public class UstarTests
{
    [Fact]
    public async Task An_entry_above_8_gib_gets_a_base_256_size_that_gnu_tar_and_our_index_read()
    {
        using var dir = new TempDirectory();
        var path = dir.File("big.ova");
        const long size = 9L << 30;
        var descriptor = Encoding.UTF8.GetBytes(Descriptors.VMware());
        await using (var file = File.Create(path))
        {
            var tar = new UstarWriter(file);
            await tar.WriteHeaderAsync("big.ovf", descriptor.Length, DateTimeOffset.UnixEpoch, CancellationToken.None);
            await tar.WriteAsync(descriptor, CancellationToken.None);
            await tar.PadAsync(CancellationToken.None);
            await tar.WriteHeaderAsync("big-disk1.vmdk", size, DateTimeOffset.UnixEpoch, CancellationToken.None);
            // The 9 GiB of data are a hole: extend the file, then write the end-of-archive blocks after it.
            file.SetLength(tar.Position + size);
            file.Position = file.Length;
            var end = new UstarWriter(file);
            await end.WriteAsync(new byte[1024], CancellationToken.None);
        }

        var listing = await ExternalTool.RunAsync("tar", ["-tvf", path]);
        Assert.Contains(size.ToString(System.Globalization.CultureInfo.InvariantCulture), listing, StringComparison.Ordinal);
        Assert.Contains("big-disk1.vmdk", listing, StringComparison.Ordinal);

        using var package = await OvfPackage.OpenAsync(path);
        Assert.Equal(size, package.GetLength("big-disk1.vmdk"));
        Assert.Equal(descriptor.Length, package.GetLength("big.ovf"));
        Assert.True(package.DescriptorIsFirst);
    }

    [Fact]
    public async Task A_cancelled_ova_build_leaves_nothing_behind()
    {
        using var dir = new TempDirectory();
        var image = dir.File("d.raw");
        await File.WriteAllBytesAsync(image, TestData.Random(80 << 20, 6));
        using var cts = new CancellationTokenSource();
        var progress = new CancelAfterFirstReport(cts);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            OvaBuilder.BuildAsync([image], dir.File("vm.ova"), new OvaBuildOptions { Name = "vm" }, progress, cts.Token));

        Assert.Equal(["d.raw"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    private sealed class CancelAfterFirstReport(CancellationTokenSource cts) : IProgress<long>
    {
        public void Report(long value) => cts.Cancel();
    }
}
