using System.Globalization;

namespace Whitesky.DiskFormats;

/// <summary>
/// An image is malformed, unsupported, or refers to something it may not open. The message names the
/// image, the structure and the offset where the problem is.
/// </summary>
public class DiskFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DiskFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public DiskFormatException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a structure at an offset of an image.</summary>
    public DiskFormatException(string image, string structure, long offset, string problem)
        : base(string.Create(CultureInfo.InvariantCulture, $"{image}: {structure} at offset {offset}: {problem}"))
    {
        Image = image;
        Structure = structure;
        Offset = offset;
    }

    /// <summary>The image file or name.</summary>
    public string? Image { get; }

    /// <summary>The structure that is wrong (header, L1 table, grain directory, ...).</summary>
    public string? Structure { get; }

    /// <summary>Where in the image file.</summary>
    public long? Offset { get; }
}
