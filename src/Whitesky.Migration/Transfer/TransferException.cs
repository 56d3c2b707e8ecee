using System.Globalization;

namespace Whitesky.Migration.Transfer;

/// <summary>
/// A transfer failed: the source could not be read, or the target refused a request after the retries ran out.
/// Whatever was completed is in the checkpoint (when one was configured), so running the same transfer again
/// sends only what is missing.
/// </summary>
public class TransferException : MigrationException
{
    /// <summary>Creates the exception.</summary>
    public TransferException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public TransferException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The target's content differs from the source's where <see cref="Ranges"/> say (found by <see cref="DiskTransferOptions.Verify"/>).</summary>
public class TransferVerificationException : TransferException
{
    /// <summary>Creates the exception for the ranges that differ.</summary>
    public TransferVerificationException(string target, IReadOnlyList<TransferRange> ranges)
        : base(Describe(target, ranges)) => Ranges = ranges;

    /// <summary>The ranges of the target that do not hold what the source holds.</summary>
    public IReadOnlyList<TransferRange> Ranges { get; }

    private static string Describe(string target, IReadOnlyList<TransferRange> ranges)
    {
        const int shown = 8;
        var list = string.Join(", ", ranges.Take(shown).Select(r => string.Create(CultureInfo.InvariantCulture, $"[{r.Offset}, {r.End})")));
        var more = ranges.Count > shown ? string.Create(CultureInfo.InvariantCulture, $" and {ranges.Count - shown} more") : string.Empty;
        var bytes = ranges.Sum(r => r.Length);
        return string.Create(CultureInfo.InvariantCulture,
            $"Verification failed: {target} differs from the source in {ranges.Count} range(s), {bytes} bytes: {list}{more}. Copy again (without a checkpoint) to repair it.");
    }
}
