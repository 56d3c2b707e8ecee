namespace Whitesky.Migration.Paths.Ovf;

/// <summary>The steps of an OVF-via-S3 import, in order.</summary>
public enum OvfS3ImportStage
{
    /// <summary>Building an OVA from a disk image or packing an OVF folder.</summary>
    Packaging,

    /// <summary>Reading and validating the package (manifest digests included).</summary>
    Validating,

    /// <summary>Uploading the package to S3.</summary>
    Uploading,

    /// <summary>Calling <c>import-vm-s3</c> and waiting for the VM.</summary>
    Importing,

    /// <summary>Deleting the staged object.</summary>
    CleaningUp,

    /// <summary>Done.</summary>
    Completed,
}
