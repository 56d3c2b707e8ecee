namespace Whitesky.DiskFormats.Vma;

/// <summary>A chunk of one device of a VMA archive, as the archive stores it (devices interleave, clusters out of order).</summary>
/// <param name="Device">The device the chunk belongs to.</param>
/// <param name="Chunk">The run of the device; offsets are in the device.</param>
public readonly record struct VmaChunk(VmaDevice Device, DiskChunk Chunk);
