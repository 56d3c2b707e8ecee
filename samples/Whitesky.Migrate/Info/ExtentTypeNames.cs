using System.Globalization;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Info;

/// <summary>Names the flags of the well-known meta contexts the way nbdinfo does.</summary>
internal static class ExtentTypeNames
{
    private const string QemuAllocationDepth = "qemu:allocation-depth";

    public static string? Describe(string context, uint type)
    {
        if (context == NbdMetaContexts.BaseAllocation)
        {
            return type switch
            {
                0 => "data",
                NbdExtent.HoleFlag => "hole",
                NbdExtent.ZeroFlag => "zero",
                NbdExtent.HoleFlag | NbdExtent.ZeroFlag => "hole,zero",
                _ => null,
            };
        }

        if (context.StartsWith(NbdMetaContexts.QemuDirtyBitmapPrefix, StringComparison.Ordinal))
        {
            return type switch
            {
                0 => "clean",
                NbdExtent.DirtyFlag => "dirty",
                _ => null,
            };
        }

        if (context == QemuAllocationDepth)
        {
            return type switch
            {
                0 => "absent",
                1 => "local",
                _ => string.Create(CultureInfo.InvariantCulture, $"backing depth {type}"),
            };
        }

        return null;
    }
}
