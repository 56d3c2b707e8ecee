namespace Whitesky.Migration.Ovf;

/// <summary>
/// An OVF package, descriptor, manifest or archive is malformed, hostile or unsupported. The message names
/// the file and, where it applies, the element or line that is wrong.
/// </summary>
public class OvfException : IOException
{
    /// <summary>Creates the exception.</summary>
    public OvfException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public OvfException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a place in a file of the package.</summary>
    public OvfException(string file, string where, string problem)
        : base($"{file}: {where}: {problem}")
    {
        File = file;
        Where = where;
    }

    /// <summary>The file of the package that is wrong (descriptor, manifest, archive).</summary>
    public string? File { get; }

    /// <summary>The element, line or entry that is wrong.</summary>
    public string? Where { get; }
}
