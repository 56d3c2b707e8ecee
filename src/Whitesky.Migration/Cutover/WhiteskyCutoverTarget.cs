using Whitesky.Api;
using Whitesky.Api.Models;

namespace Whitesky.Migration.Cutover;

/// <summary>The whitesky VM a cutover starts: made on the replicated disks when it does not exist yet.</summary>
public sealed record WhiteskyVmDefinition
{
    /// <summary>The VM's name.</summary>
    public required string Name { get; init; }

    /// <summary>A description.</summary>
    public string Description { get; init; } = "cut over by Whitesky.Migration";

    /// <summary>Virtual CPUs.</summary>
    public long VCpus { get; init; } = 1;

    /// <summary>Memory in MiB.</summary>
    public long MemoryMiB { get; init; } = 1024;

    /// <summary>The replicated boot disk.</summary>
    public required long BootDiskId { get; init; }

    /// <summary>Further replicated disks, attached as data disks.</summary>
    public IReadOnlyList<long> DataDiskIds { get; init; } = [];

    /// <summary>The firmware; null for the platform's default.</summary>
    public BootType? BootType { get; init; }

    /// <summary>An existing VM to start instead of creating one (a second cutover attempt).</summary>
    public long? VmId { get; init; }
}

/// <summary>
/// <see cref="ICutoverTarget"/> for whitesky: creates the VM from <see cref="WhiteskyVmDefinition"/> with the
/// replicated disk as boot disk (if it does not exist yet), starts it and waits until it runs; stops it on rollback.
/// </summary>
public sealed class WhiteskyCutoverTarget : ICutoverTarget
{
    private readonly WhiteskyClient _client;
    private readonly WhiteskyVmDefinition _definition;
    private readonly TimeSpan _timeout;

    /// <summary>Starts <paramref name="definition"/> through <paramref name="client"/>, waiting at most <paramref name="timeout"/> (default 5 minutes).</summary>
    public WhiteskyCutoverTarget(WhiteskyClient client, WhiteskyVmDefinition definition, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(definition);
        _client = client;
        _definition = definition;
        _timeout = timeout ?? TimeSpan.FromMinutes(5);
        VmId = definition.VmId;
    }

    /// <summary>The VM's id once it exists.</summary>
    public long? VmId { get; private set; }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (VmId is null)
        {
            VmId = await _client.CreateVirtualMachineAsync(new CreateVirtualMachineRequest
            {
                Name = _definition.Name,
                Description = _definition.Description,
                VCpus = _definition.VCpus,
                Memory = _definition.MemoryMiB,
                BootDiskId = _definition.BootDiskId,
                DataDisks = _definition.DataDiskIds.Count == 0 ? null : _definition.DataDiskIds,
                BootType = _definition.BootType,
                StartVm = false,
            }, cancellationToken).ConfigureAwait(false);
        }

        var vm = await _client.GetVirtualMachineAsync(VmId.Value, cancellationToken).ConfigureAwait(false);
        if (!WhiteskyClient.VmRunningStatuses.Contains(vm.Status ?? string.Empty, StringComparer.OrdinalIgnoreCase))
        {
            await _client.StartVirtualMachineAsync(VmId.Value, cancellationToken).ConfigureAwait(false);
        }

        await _client.WaitForVirtualMachineRunningAsync(VmId.Value, _timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (VmId is not { } id)
        {
            return;
        }

        var vm = await _client.GetVirtualMachineAsync(id, cancellationToken).ConfigureAwait(false);
        if (WhiteskyClient.VmRunningStatuses.Contains(vm.Status ?? string.Empty, StringComparer.OrdinalIgnoreCase))
        {
            await _client.StopVirtualMachineAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false);
            await _client.WaitForVirtualMachineStoppedAsync(id, _timeout, cancellationToken).ConfigureAwait(false);
        }
    }
}
