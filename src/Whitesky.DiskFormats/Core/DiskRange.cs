using System.Globalization;

namespace Whitesky.DiskFormats;

/// <summary>Argument checks shared by every disk.</summary>
internal static class DiskRange
{
    public static void Check(IVirtualDisk disk, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > disk.Capacity || length > disk.Capacity - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), string.Create(CultureInfo.InvariantCulture,
                $"The range at {offset} of {length} bytes is outside the disk of {disk.Capacity} bytes."));
        }
    }
}
