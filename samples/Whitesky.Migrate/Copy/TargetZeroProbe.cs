using Microsoft.Extensions.Logging;
using Whitesky.Migrate.Info;
using Whitesky.Nbd;

namespace Whitesky.Migrate.Copy;

/// <summary>
/// Asks the target's <c>base:allocation</c> block status whether a range already reads as zeroes (a
/// fresh disk usually does): then the source's holes and zero blocks need not be sent at all.
/// </summary>
internal static class TargetZeroProbe
{
    public static async Task<bool> ReadsAsZeroAsync(NbdClient target, long length, ILogger logger, CancellationToken cancellationToken)
    {
        if (!target.Export.MetaContexts.Contains(NbdMetaContexts.BaseAllocation, StringComparer.Ordinal))
        {
            CopyLog.ZeroProbeFailed(logger, "the server did not agree to base:allocation");
            return false;
        }

        try
        {
            long offset = 0;
            while (offset < length)
            {
                var status = await target.BlockStatusAsync(offset, length - offset, cancellationToken: cancellationToken);
                foreach (var extent in status[NbdMetaContexts.BaseAllocation])
                {
                    if (!extent.IsZero)
                    {
                        return false;
                    }

                    offset = extent.End;
                }
            }

            return true;
        }
        catch (NbdException ex) when (ex.Command == NbdCommand.BlockStatus)
        {
            CopyLog.ZeroProbeFailed(logger, ex.Message);
            return false;
        }
    }
}
