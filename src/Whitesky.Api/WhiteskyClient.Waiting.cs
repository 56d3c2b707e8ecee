using Whitesky.Api.Models;

namespace Whitesky.Api;

public partial class WhiteskyClient
{
    /// <summary>Disk statuses that mean "created and usable" (compared case-insensitively).</summary>
    public static IReadOnlyList<string> DiskCreatedStatuses { get; } = ["CREATED", "ASSIGNED"];

    /// <summary>VM statuses that mean "running".</summary>
    public static IReadOnlyList<string> VmRunningStatuses { get; } = ["RUNNING"];

    /// <summary>VM statuses that mean "stopped".</summary>
    public static IReadOnlyList<string> VmStoppedStatuses { get; } = ["HALTED", "STOPPED"];

    /// <summary>Statuses after which waiting for anything else is pointless.</summary>
    public static IReadOnlyList<string> FailedStatuses { get; } = ["ERROR", "DELETED", "DESTROYED"];

    /// <summary>Polls a disk until its status is one of <see cref="DiskCreatedStatuses"/>.</summary>
    /// <param name="diskId">The disk.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The disk as last read.</returns>
    /// <exception cref="TimeoutException">The status did not arrive in time (the message names the last status).</exception>
    /// <exception cref="WhiteskyApiException">A poll failed, or the disk reached a failed status.</exception>
    public virtual Task<DiskInfo> WaitForDiskCreatedAsync(long diskId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForStatusAsync("getDiskInfo", $"disk {diskId}", ct => GetDiskAsync(diskId, ct), d => d.Status, DiskCreatedStatuses, timeout, cancellationToken);

    /// <summary>Polls a VM until it runs.</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The VM as last read.</returns>
    /// <exception cref="TimeoutException">The status did not arrive in time.</exception>
    /// <exception cref="WhiteskyApiException">A poll failed, or the VM reached a failed status.</exception>
    public virtual Task<VirtualMachineInfo> WaitForVirtualMachineRunningAsync(long vmId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForVirtualMachineStatusAsync(vmId, VmRunningStatuses, timeout, cancellationToken);

    /// <summary>Polls a VM until it is stopped.</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The VM as last read.</returns>
    /// <exception cref="TimeoutException">The status did not arrive in time.</exception>
    /// <exception cref="WhiteskyApiException">A poll failed, or the VM reached a failed status.</exception>
    public virtual Task<VirtualMachineInfo> WaitForVirtualMachineStoppedAsync(long vmId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForVirtualMachineStatusAsync(vmId, VmStoppedStatuses, timeout, cancellationToken);

    /// <summary>Polls a VM until its status is one of <paramref name="statuses"/>.</summary>
    /// <param name="vmId">The VM.</param>
    /// <param name="statuses">The statuses to wait for (case-insensitive).</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The VM as last read.</returns>
    /// <exception cref="TimeoutException">The status did not arrive in time.</exception>
    /// <exception cref="WhiteskyApiException">A poll failed, or the VM reached a failed status it was not waiting for.</exception>
    public virtual Task<VirtualMachineInfo> WaitForVirtualMachineStatusAsync(long vmId, IReadOnlyList<string> statuses, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForStatusAsync("getVirtualMachineInfo", $"VM {vmId}", ct => GetVirtualMachineAsync(vmId, ct), v => v.Status, statuses, timeout, cancellationToken);

    private async Task<T> WaitForStatusAsync<T>(
        string operationId,
        string what,
        Func<CancellationToken, Task<T>> poll,
        Func<T, string?> status,
        IReadOnlyList<string> wanted,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        using var deadline = new CancellationTokenSource(timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var timer = new PeriodicTimer(_options.PollInterval, _timeProvider);
        string? last = null;
        try
        {
            while (true)
            {
                var current = await poll(linked.Token).ConfigureAwait(false);
                last = status(current);
                if (last is not null && wanted.Contains(last, StringComparer.OrdinalIgnoreCase))
                {
                    return current;
                }

                if (last is not null && FailedStatuses.Contains(last, StringComparer.OrdinalIgnoreCase))
                {
                    throw new WhiteskyApiException(operationId, System.Net.HttpStatusCode.OK,
                        $"{what} reached status {last} while waiting for {string.Join(" or ", wanted)}", null);
                }

                await timer.WaitForNextTickAsync(linked.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                                  && (e is OperationCanceledException || (e is WhiteskyApiException { StatusCode: null } api && api.InnerException is OperationCanceledException)))
        {
            throw new TimeoutException($"{what} did not reach status {string.Join(" or ", wanted)} within {timeout} (last status: {last ?? "unknown"}).", e);
        }
    }
}
