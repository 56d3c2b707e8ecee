namespace Whitesky.Migration.Ovf;

/// <summary>Disk file formats an OVF DiskSection can name.</summary>
public enum OvfDiskFormat
{
    /// <summary>A format URI this SDK does not know.</summary>
    Unknown,

    /// <summary>VMDK streamOptimized (what VMware and VirtualBox export).</summary>
    VmdkStreamOptimized,

    /// <summary>VMDK hosted sparse (monolithicSparse).</summary>
    VmdkSparse,

    /// <summary>Another VMDK variant (the URI's fragment tells which).</summary>
    VmdkOther,

    /// <summary>QCOW2.</summary>
    Qcow2,

    /// <summary>A raw image.</summary>
    Raw,
}

/// <summary>Maps DiskSection format URIs to <see cref="OvfDiskFormat"/>.</summary>
internal static class OvfDiskFormats
{
    public static OvfDiskFormat FromUri(string? uri)
    {
        if (string.IsNullOrWhiteSpace(uri))
        {
            return OvfDiskFormat.Unknown;
        }

        if (uri.StartsWith(OvfConstants.VmdkFormatPrefix, StringComparison.OrdinalIgnoreCase) ||
            uri.StartsWith(OvfConstants.VmdkFormatPrefixOld, StringComparison.OrdinalIgnoreCase))
        {
            var hash = uri.IndexOf('#', StringComparison.Ordinal);
            var variant = hash < 0 ? "" : uri[(hash + 1)..];
            return variant.ToUpperInvariant() switch
            {
                "STREAMOPTIMIZED" => OvfDiskFormat.VmdkStreamOptimized,
                "SPARSE" or "MONOLITHICSPARSE" => OvfDiskFormat.VmdkSparse,
                _ => OvfDiskFormat.VmdkOther,
            };
        }

        if (uri.Contains(OvfConstants.Qcow2FormatMarker, StringComparison.OrdinalIgnoreCase))
        {
            return OvfDiskFormat.Qcow2;
        }

        return uri.EndsWith("raw", StringComparison.OrdinalIgnoreCase) || uri.EndsWith("#raw", StringComparison.OrdinalIgnoreCase)
            ? OvfDiskFormat.Raw
            : OvfDiskFormat.Unknown;
    }
}
