namespace Whitesky.DiskFormats.Tests.Core;

/// <summary>The checks every hostile-image test shares: a refusal that names what and where, within a time bound.</summary>
internal static class HostileImages
{
    /// <summary>How long opening and reading a hostile image may take before the test calls it a hang.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>Opens the image and reads and maps all of it, within <see cref="Bound"/>; returns the refusal.</summary>
    public static async Task<DiskFormatException> RefusalAsync(string path, DiskImageOptions? options = null)
    {
        async Task OpenAndReadAsync()
        {
            await using var disk = await DiskImage.OpenAsync(path, options);
            var buffer = new byte[disk.Capacity];
            await disk.ReadAsync(0, buffer);
            await foreach (var unused in disk.GetExtentsAsync(0, disk.Capacity))
            {
            }
        }

        var refusal = await Assert.ThrowsAsync<DiskFormatException>(() => OpenAndReadAsync().WaitAsync(Bound));
        Assert.NotNull(refusal.Structure);
        Assert.NotNull(refusal.Offset);
        Assert.Contains(refusal.Structure!, refusal.Message, StringComparison.Ordinal);
        return refusal;
    }

    /// <summary>Overwrites <paramref name="bytes"/>.Length bytes of the file at <paramref name="offset"/>.</summary>
    public static async Task PatchAsync(string path, long offset, byte[] bytes)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        await file.WriteAsync(bytes);
    }
}
