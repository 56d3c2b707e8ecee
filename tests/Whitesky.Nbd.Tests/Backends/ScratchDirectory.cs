using Whitesky.Nbd.Tests.Peers;

namespace Whitesky.Nbd.Tests.Backends;

/// <summary>
/// A private folder on a chosen kind of file system, removed on dispose: <c>disk</c> is under the temp folder
/// (ext4 here: punches holes and zeroes ranges in place), <c>tmpfs</c> under /dev/shm (punches holes but has no
/// <c>FALLOC_FL_ZERO_RANGE</c>), so both paths of the sparse file backend run.
/// </summary>
public sealed class ScratchDirectory : IDisposable
{
    private ScratchDirectory(string path) => Path = path;

    public string Path { get; }

    public static async Task<ScratchDirectory> CreateAsync(string fileSystem)
    {
        var parent = fileSystem switch
        {
            "disk" => System.IO.Path.GetTempPath(),
            "tmpfs" => "/dev/shm",
            _ => throw new ArgumentOutOfRangeException(nameof(fileSystem), fileSystem, "disk or tmpfs"),
        };
        var type = (await ExternalTool.RunAsync("stat", ["-f", "-c", "%T", parent])).Trim();
        Assert.True(fileSystem == "tmpfs" ? type == "tmpfs" : type != "tmpfs", $"{parent} is {type}, wanted {fileSystem}");
        return new ScratchDirectory(fileSystem == "disk"
            ? Directory.CreateTempSubdirectory("wsnbd-backend-").FullName
            : Directory.CreateDirectory(System.IO.Path.Combine(parent, "wsnbd-backend-" + Guid.NewGuid().ToString("N"))).FullName);
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
