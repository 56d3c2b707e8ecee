using System.Text.Json;
using Whitesky.Migrate.Tests.Support;
using Whitesky.Migration.Ovf;
using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Migrate.Tests;

/// <summary><c>import ovf</c> with nothing configured: the embedded emulator and s3rver (from .peers) run for the command.</summary>
public sealed class ImportOvfCommandTests
{
    [Fact]
    public async Task A_qcow2_is_imported_into_the_embedded_emulator_with_the_given_hardware_and_a_json_result()
    {
        using var dir = new TempDirectory();
        var qcow2 = dir.File("cli01.qcow2");
        await ExternalTool.RunAsync("qemu-img", ["create", "-f", "qcow2", qcow2, "32M"]);
        await ExternalTool.RunAsync("qemu-io", ["-c", "write -P 0x5a 1M 2M", qcow2]);

        var (code, output, error) = await MigrateCli.RunAsync("import", "ovf", qcow2, "--name", "cli01", "--vcpus", "3", "--memory", "1536", "--delete-after", "--json");

        Assert.True(code == 0, error);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.Equal(("RUNNING", "cli01", 3, 1536, "bios"), (result.GetProperty("vmStatus").GetString(), result.GetProperty("name").GetString(),
            result.GetProperty("vcpus").GetInt32(), result.GetProperty("memoryMiB").GetInt32(), result.GetProperty("bootType").GetString()));
        Assert.Equal(("cli01.ova", 1, true, true), (result.GetProperty("object").GetString(), result.GetProperty("partsUploaded").GetInt32(),
            result.GetProperty("packageBuilt").GetBoolean(), result.GetProperty("objectDeleted").GetBoolean()));
        Assert.Contains("uploading", error, StringComparison.Ordinal);
        Assert.Contains("importing: VM ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ovf_folder_missing_its_disk_exits_3_with_the_findings_and_uploads_nothing()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("d.raw");
        await File.WriteAllBytesAsync(raw, TestData.Random(1 << 20, 5));
        var ova = dir.File("vm02.ova");
        await OvaBuilder.BuildAsync([raw], ova, new OvaBuildOptions { Name = "vm02" });
        var folder = Directory.CreateDirectory(dir.File("export")).FullName;
        await ExternalTool.RunAsync("tar", ["-xf", ova, "-C", folder]);
        File.Delete(Path.Combine(folder, "vm02-disk1.vmdk"));

        var (code, output, error) = await MigrateCli.RunAsync("import", "ovf", Path.Combine(folder, "vm02.ovf"), "--json");

        Assert.Equal(3, code);
        Assert.Contains("failed validation, nothing was uploaded", error, StringComparison.Ordinal);
        Assert.Contains("Error missing-file [vm02-disk1.vmdk]", error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }
}
