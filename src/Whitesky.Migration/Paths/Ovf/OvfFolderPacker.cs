using Whitesky.Migration.Ovf;

namespace Whitesky.Migration.Paths.Ovf;

/// <summary>Packs an OVF folder (descriptor, manifest, referenced files) into an OVA in the standard's order, bytes unchanged.</summary>
internal static class OvfFolderPacker
{
    public static async Task PackAsync(string descriptorPath, string ovaPath, CancellationToken cancellationToken)
    {
        using var package = await OvfPackage.OpenAsync(descriptorPath, cancellationToken).ConfigureAwait(false);
        List<string> names = [package.DescriptorName];
        if (package.ManifestName is { } manifest)
        {
            names.Add(manifest);
        }

        // Files the folder lacks are left out; validation of the packed OVA names them.
        names.AddRange(package.Envelope.Files.SelectMany(f => f.StoredNames).Where(n => package.GetLength(n) is not null).Distinct());
        var partial = ovaPath + ".partial";
        try
        {
            var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var tar = new UstarWriter(output);
                var now = DateTimeOffset.UtcNow;
                var buffer = new byte[1 << 20];
                foreach (var name in names)
                {
                    var input = package.OpenRead(name);
                    await using (input.ConfigureAwait(false))
                    {
                        await tar.WriteHeaderAsync(name, input.Length, now, cancellationToken).ConfigureAwait(false);
                        int read;
                        while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            await tar.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                    }

                    await tar.PadAsync(cancellationToken).ConfigureAwait(false);
                }

                await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, ovaPath, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
