using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;

namespace Whitesky.Emulator.Routes;

/// <summary>
/// <c>/_emulator/...</c>: what tests and people driving the emulator from outside need and the platform has no
/// route for — new JWTs, fault switches, and a look at recorded state (VM flags, disk files). Not authenticated:
/// the emulator listens on loopback only.
/// </summary>
internal sealed partial class EmulatorApi
{
    private void MapAdmin(WebApplication app)
    {
        app.MapGet(AdminPath, () => Ok(new JsonObject
        {
            ["customer_id"] = Options.CustomerId,
            ["cloudspace_id"] = Options.CloudspaceId,
            ["location"] = Options.Location,
            ["data_directory"] = DataDirectory,
            ["operations"] = new JsonArray([.. _operations.Select(o => new JsonObject { ["method"] = o.Method, ["path"] = o.Path, ["operation_id"] = o.OperationId })]),
        }));

        app.MapPost(AdminPath + "/jwt", (HttpContext context) =>
        {
            var lifetime = Options.TokenLifetime;
            if (context.Request.Query.TryGetValue("lifetime_seconds", out var value))
            {
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1)
                {
                    return Error(400, "lifetime_seconds must be a whole number of seconds, at least 1");
                }

                lifetime = TimeSpan.FromSeconds(seconds);
            }

            return Results.Text(Jwt.Issue(lifetime), "text/plain");
        });

        app.MapGet(AdminPath + "/faults", () => Ok(FaultState()));
        app.MapDelete(AdminPath + "/faults", () =>
        {
            Faults.Reset();
            return Ok(FaultState());
        });
        app.MapPut(AdminPath + "/faults", async (HttpContext context) =>
        {
            try
            {
                var update = await JsonSerializer.DeserializeAsync(context.Request.Body, JsonInfo<FaultUpdate>(), context.RequestAborted).ConfigureAwait(false);
                if (update?.LatencyMs is { } latency)
                {
                    Faults.Latency = TimeSpan.FromMilliseconds(latency);
                }

                if (update?.StateTransitionMs is { } transition)
                {
                    Faults.StateTransitionDelay = TimeSpan.FromMilliseconds(transition);
                }

                if (update?.FailExposes is { } failExposes)
                {
                    Faults.FailExposes = failExposes;
                }

                if (update?.StallImports is { } stallImports)
                {
                    Faults.StallImports = stallImports;
                }

                if (update?.DropNbdConnectionsAfterBytes is { } bytes)
                {
                    Faults.DropNbdConnectionsAfterBytes = bytes < 0 ? null : bytes;
                }

                foreach (var (operationId, status) in update?.FailOperations ?? [])
                {
                    Faults.FailOperation(operationId, status);
                }
            }
            catch (Exception ex) when (ex is JsonException or ArgumentException)
            {
                return Error(400, "Bad fault settings: " + ex.Message);
            }

            return Ok(FaultState());
        });
        app.MapPost(AdminPath + "/faults/operations/{operation_id}", (string operation_id, int? status, int? times, string? abort) =>
        {
            if (!_operations.Any(o => string.Equals(o.OperationId, operation_id, StringComparison.OrdinalIgnoreCase)))
            {
                return Error(404, $"No operation {operation_id}");
            }

            try
            {
                switch (abort)
                {
                    case null:
                        Faults.FailOperation(operation_id, status ?? 500, times ?? int.MaxValue);
                        break;
                    case "before" or "after":
                        Faults.AbortOperation(operation_id, afterRunning: abort == "after", times ?? int.MaxValue);
                        break;
                    default:
                        return Error(400, "abort must be 'before' or 'after'");
                }
            }
            catch (ArgumentException ex)
            {
                return Error(400, ex.Message);
            }

            return Ok(FaultState());
        });
        app.MapDelete(AdminPath + "/faults/operations/{operation_id}", (string operation_id) =>
        {
            Faults.ClearOperationFailure(operation_id);
            return Ok(FaultState());
        });
        app.MapPost(AdminPath + "/faults/drop-nbd-connections", () =>
        {
            Faults.DropNbdConnections();
            return Ok(FaultState());
        });

        app.MapGet(AdminPath + "/vms/{vm_id:int}", async (int vm_id, CancellationToken cancellationToken) =>
        {
            using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
            if (!_vms.TryGetValue(vm_id, out var vm))
            {
                return Error(404, $"Virtual machine with id {vm_id} does not exist");
            }

            return Ok(new JsonObject
            {
                ["vm_id"] = vm.Id,
                ["status"] = vm.Status,
                ["boot_type"] = vm.BootType,
                ["boot_disk_id"] = vm.BootDiskId,
                ["disk_ids"] = Numbers(vm.DiskIds),
                ["cdrom_ids"] = Numbers(vm.CdromIds),
                ["acronis"] = vm.Acronis,
                ["veeam"] = vm.Veeam,
                ["os_type"] = vm.OsType,
                ["os_name"] = vm.OsName,
                ["enable_vm_agent"] = vm.EnableVmAgent,
                ["tpm_enabled"] = vm.TpmEnabled,
                ["import_error"] = vm.ImportError,
            });
        });
        app.MapGet(AdminPath + "/disks/{disk_id:int}", async (int disk_id, CancellationToken cancellationToken) =>
        {
            using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
            return _disks.TryGetValue(disk_id, out var disk)
                ? Ok(new JsonObject { ["disk_id"] = disk.Id, ["path"] = disk.Path, ["size_bytes"] = disk.SizeGb * BytesPerGb, ["exposed"] = disk.Exposure is not null, ["vm_id"] = disk.VmId })
                : Error(404, $"Disk with id {disk_id} does not exist");
        });
        app.MapGet(AdminPath + "/cdroms/{cdrom_id:int}", async (int cdrom_id, CancellationToken cancellationToken) =>
        {
            using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
            return _cdroms.TryGetValue(cdrom_id, out var cdrom)
                ? Ok(new JsonObject { ["cdrom_id"] = cdrom.Id, ["path"] = cdrom.Path, ["size"] = cdrom.Size })
                : Error(404, $"CD-ROM image with id {cdrom_id} does not exist");
        });
    }

    private static JsonArray Numbers(IEnumerable<int> values) => [.. values.Select(v => (JsonNode?)v)];

    private JsonObject FaultState() => new()
    {
        ["latency_ms"] = Faults.Latency.TotalMilliseconds,
        ["state_transition_ms"] = Faults.StateTransitionDelay.TotalMilliseconds,
        ["fail_exposes"] = Faults.FailExposes,
        ["stall_imports"] = Faults.StallImports,
        ["drop_nbd_connections_after_bytes"] = Faults.DropNbdConnectionsAfterBytes,
        ["fail_operations"] = new JsonObject(Faults.FailingOperations.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
    };

    internal sealed record FaultUpdate
    {
        public double? LatencyMs { get; init; }
        public double? StateTransitionMs { get; init; }
        public bool? FailExposes { get; init; }
        public bool? StallImports { get; init; }
        public long? DropNbdConnectionsAfterBytes { get; init; }
        public Dictionary<string, int>? FailOperations { get; init; }
    }
}
