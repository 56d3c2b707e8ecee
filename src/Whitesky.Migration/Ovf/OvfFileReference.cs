using System.Globalization;

namespace Whitesky.Migration.Ovf;

/// <summary>A <c>File</c> of the References section.</summary>
/// <param name="Id">The <c>ovf:id</c> others refer to.</param>
/// <param name="Href">The file's name, relative to the descriptor (checked not to leave the package).</param>
/// <param name="Size">The <c>ovf:size</c> in bytes (of the file as stored, after compression), when given.</param>
/// <param name="Compression">The <c>ovf:compression</c> (<c>gzip</c>), or null.</param>
/// <param name="ChunkSize">The <c>ovf:chunkSize</c> in bytes when the file is split in parts, or null.</param>
public sealed record OvfFileReference(string Id, string Href, long? Size, string? Compression, long? ChunkSize)
{
    /// <summary>True when the file is stored compressed (<c>ovf:compression="gzip"</c>).</summary>
    public bool IsCompressed => Compression is not null && !string.Equals(Compression, "identity", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The names the file is stored under: <see cref="Href"/> itself, or for a chunked file its parts
    /// <c>href.000</c>, <c>href.001</c>, ... (as many as <see cref="Size"/> / <see cref="ChunkSize"/> needs).
    /// </summary>
    public IReadOnlyList<string> StoredNames
    {
        get
        {
            if (ChunkSize is not { } chunk || Size is not { } size)
            {
                return [Href];
            }

            var count = Math.Max(1, (size + chunk - 1) / chunk);
            var names = new string[count];
            for (var i = 0; i < count; i++)
            {
                names[i] = Href + "." + i.ToString("D3", CultureInfo.InvariantCulture);
            }

            return names;
        }
    }
}
