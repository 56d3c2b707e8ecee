using System.Text.Json.Serialization;
using Whitesky.DiskFormats;

namespace Whitesky.Migrate.Images;

/// <summary>What <c>inspect</c> prints about an image and, nested, its parents.</summary>
internal sealed record ImageReport(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("subformat")] string? Subformat,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("actual-size")] long FileSize,
    [property: JsonPropertyName("cluster-size")] int? ClusterSize,
    [property: JsonPropertyName("compression")] string? Compression,
    [property: JsonPropertyName("features")] IReadOnlyList<string> Features,
    [property: JsonPropertyName("allocated-bytes")] long? AllocatedBytes,
    [property: JsonPropertyName("backing")] ImageReport? Backing)
{
    /// <summary>The guest's partition table (<c>gpt</c>, <c>mbr</c>, <c>none</c>), read from the disk; null when not read (a stream).</summary>
    [JsonPropertyName("partition-table")]
    public string? PartitionTable { get; init; }

    /// <summary>The boot mode the partition table implies (<c>uefi</c>, <c>bios</c>, <c>unknown</c>); null when not read.</summary>
    [JsonPropertyName("boot-mode")]
    public string? BootMode { get; init; }

    /// <summary>The report with the guest layout of <paramref name="disk"/> (partition table and boot mode).</summary>
    public async Task<ImageReport> WithGuestLayoutAsync(IVirtualDisk disk, CancellationToken cancellationToken)
    {
        var layout = await Whitesky.Migration.Guest.GuestDiskInspector.InspectAsync(disk, cancellationToken);
        return this with
        {
            PartitionTable = layout.Scheme.ToString().ToLowerInvariant(),
            BootMode = layout.BootMode.ToString().ToLowerInvariant(),
        };
    }

    public static ImageReport From(DiskInfo info) => new(
        info.Name, info.Format, info.Subformat, info.VirtualSize, info.FileSize, info.ClusterSize, info.Compression,
        info.Features, info.AllocatedBytes, info.Parent is null ? null : From(info.Parent));
}
