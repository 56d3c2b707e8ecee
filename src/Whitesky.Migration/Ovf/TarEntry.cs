namespace Whitesky.Migration.Ovf;

/// <summary>A regular file of a tar archive: its name and where its bytes are.</summary>
internal readonly record struct TarEntry(string Name, long DataOffset, long Length);
