using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.DiskFormats.Tests.Core;

public class ResolverTests
{
    [Theory]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("../secret.img", "leaves")]
    [InlineData("sub/../../x.img", "leaves")]
    [InlineData("http://example.com/disk.img", "URL")]
    [InlineData("json:{\"file.driver\":\"file\"}", "json:")]
    [InlineData("", "empty")]
    [InlineData("~root/disk.img", "absolute")]
    public async Task The_default_resolver_refuses_names_that_escape_the_image_directory(string reference, string why)
    {
        using var dir = new TempDirectory();
        var image = dir.File("child.img");
        await File.WriteAllBytesAsync(image, new byte[512]);
        var ex = await Assert.ThrowsAsync<DiskFormatException>(() => SameDirectoryResolver.Instance.OpenAsync(image, reference).AsTask());
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains("child.img", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_resolver_opens_a_sibling_and_says_when_it_is_missing()
    {
        using var dir = new TempDirectory();
        var image = dir.File("child.img");
        await File.WriteAllBytesAsync(image, new byte[512]);
        await File.WriteAllBytesAsync(dir.File("base.img"), new byte[1024]);

        await using var source = await SameDirectoryResolver.Instance.OpenAsync(image, "base.img");
        Assert.Equal(1024, source.Length);

        var missing = await Assert.ThrowsAsync<DiskFormatException>(() => SameDirectoryResolver.Instance.OpenAsync(image, "gone.img").AsTask());
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<DiskFormatException>(() => NoReferencesResolver.Instance.OpenAsync(image, "base.img").AsTask());
    }
}
