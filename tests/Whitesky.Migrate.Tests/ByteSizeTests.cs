using Whitesky.Migrate.Cli;

namespace Whitesky.Migrate.Tests;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("262144", 262144)]
    [InlineData("256K", 262144)]
    [InlineData("2M", 2097152)]
    [InlineData("2MiB", 2097152)]
    [InlineData("1g", 1073741824)]
    public void Parses_sizes_with_binary_suffixes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2X")]
    [InlineData("-1")]
    [InlineData("1.5M")]
    [InlineData("99999999999T")]
    public void Rejects_what_is_not_a_size(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData(67108864, "64M")]
    [InlineData(1044029440, "995.7M")]
    [InlineData(512, "512")]
    public void Formats_like_nbdinfo(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));
}
