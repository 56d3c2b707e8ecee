namespace Whitesky.DiskFormats;

/// <summary>
/// Decides which files an image may open besides itself: backing files, parents, extent files, data
/// files. Images name such files themselves, so the names are untrusted input.
/// </summary>
public interface IDiskImageResolver
{
    /// <summary>Opens <paramref name="reference"/> as written in <paramref name="referrer"/>, or throws <see cref="DiskFormatException"/> to refuse.</summary>
    ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default);
}

/// <summary>
/// The default resolver: only plain relative names inside the referring image's own directory. Absolute
/// paths, <c>..</c>, URLs and <c>json:</c> specifications are refused.
/// </summary>
public sealed class SameDirectoryResolver : IDiskImageResolver
{
    /// <summary>The shared instance.</summary>
    public static SameDirectoryResolver Instance { get; } = new();

    /// <inheritdoc />
    public ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(referrer);
        ArgumentNullException.ThrowIfNull(reference);
        var why = Refusal(reference);
        if (why is not null)
        {
            throw new DiskFormatException($"{referrer}: refusing to open '{Printable(reference)}': {why}. Open it through a resolver of your own if you trust it.");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(referrer)) ?? Directory.GetCurrentDirectory();
        var full = Path.GetFullPath(Path.Combine(directory, reference));
        if (!string.Equals(Path.GetDirectoryName(full), directory, StringComparison.Ordinal))
        {
            throw new DiskFormatException($"{referrer}: refusing to open '{Printable(reference)}': it is not in the image's directory.");
        }

        if (!File.Exists(full))
        {
            throw new DiskFormatException($"{referrer}: the file it refers to, '{Printable(reference)}', does not exist in {directory}.");
        }

        return ValueTask.FromResult<IRandomAccessSource>(FileSource.Open(full));
    }

    private static string? Refusal(string reference)
    {
        if (reference.Length == 0)
        {
            return "the name is empty";
        }

        if (reference.StartsWith("json:", StringComparison.OrdinalIgnoreCase))
        {
            return "json: specifications are not file names";
        }

        if (reference.Contains("://", StringComparison.Ordinal))
        {
            return "it is a URL";
        }

        if (Path.IsPathRooted(reference) || reference.StartsWith('~'))
        {
            return "it is an absolute path";
        }

        if (reference.Split('/', '\\').Any(part => part == ".."))
        {
            return "it leaves the image's directory";
        }

        if (reference.Any(char.IsControl))
        {
            return "it contains control characters";
        }

        return null;
    }

    private static string Printable(string text) =>
        new(text.Take(200).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}

/// <summary>A resolver that refuses every reference: for images that must stand alone.</summary>
public sealed class NoReferencesResolver : IDiskImageResolver
{
    /// <summary>The shared instance.</summary>
    public static NoReferencesResolver Instance { get; } = new();

    /// <inheritdoc />
    public ValueTask<IRandomAccessSource> OpenAsync(string referrer, string reference, CancellationToken cancellationToken = default) =>
        throw new DiskFormatException($"{referrer}: it refers to another file ('{reference}'), and references are not allowed here.");
}
