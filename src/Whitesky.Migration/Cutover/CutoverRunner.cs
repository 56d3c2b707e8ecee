using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Whitesky.Migration.Cutover;

/// <summary>
/// Runs a <see cref="CutoverPlan"/>: pre-checks, stop sources, final sync of every VM in parallel, start targets,
/// validate with probes, switch DNS — and on a failure after the sources stopped, rolls back (targets stopped,
/// DNS reverted, sources restarted). Measures the downtime from the first source stop to the last validation success.
/// </summary>
public sealed class CutoverRunner
{
    private static readonly TimeSpan RollbackTimeout = TimeSpan.FromMinutes(10);
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    /// <summary>Creates a runner.</summary>
    public CutoverRunner(ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Whitesky.Migration.Cutover");
    }

    /// <summary>Cuts the application over. A failure answers a report that says what happened; cancellation after the
    /// sources stopped rolls back first, then throws.</summary>
    public async Task<CutoverReport> RunAsync(CutoverPlan plan, IProgress<CutoverProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Vms.Count == 0 || plan.Vms.Select(v => v.Name).Distinct(StringComparer.Ordinal).Count() != plan.Vms.Count)
        {
            throw new ArgumentException("A cutover plan needs at least one VM, each with its own name.", nameof(plan));
        }

        var run = new Run(this, plan, progress);
        var failure = await run.StepAsync(CutoverStep.PreChecks, null, ct => PreCheckAsync(plan, ct), cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return run.Report(false, false, "Pre-checks failed: " + failure);
        }

        var started = new ConcurrentBag<CutoverVm>();
        var dnsSwitched = false;
        try
        {
            failure = await run.EachVmAsync(CutoverStep.StopSources, async (vm, ct) =>
            {
                run.StoppedAt[vm.Name] = _time.GetUtcNow();
                await vm.StopSource(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false)
            ?? await run.EachVmAsync(CutoverStep.FinalSync, async (vm, ct) => run.SyncedBytes[vm.Name] = await vm.FinalSync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            ?? await run.EachVmAsync(CutoverStep.StartTargets, async (vm, ct) =>
            {
                started.Add(vm);
                await vm.Target.StartAsync(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false)
            ?? await ValidateAsync(run, plan, cancellationToken).ConfigureAwait(false);
            if (failure is null && plan.Dns is { } dns)
            {
                dnsSwitched = true;
                failure = await run.StepAsync(CutoverStep.SwitchDns, null, dns.SwitchAsync, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.LogWarning("Cutover of {Application} cancelled; rolling back.", plan.Application);
            await RollbackAsync(run, plan, started, dnsSwitched).ConfigureAwait(false);
            throw;
        }

        if (failure is null)
        {
            return run.Report(true, false, null);
        }

        if (!plan.RollbackOnFailure)
        {
            return run.Report(false, false, failure);
        }

        var rollbackFailure = await RollbackAsync(run, plan, started, dnsSwitched).ConfigureAwait(false);
        return run.Report(false, true, rollbackFailure is null ? failure : $"{failure} Rollback also failed: {rollbackFailure}");
    }

    private async Task PreCheckAsync(CutoverPlan plan, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var now = _time.GetUtcNow();
        foreach (var vm in plan.Vms)
        {
            if (plan.MaxReplicationAge is { } maxAge && (vm.LastReplicatedAt is not { } at || now - at > maxAge))
            {
                problems.Add(vm.LastReplicatedAt is null
                    ? $"{vm.Name} was never replicated."
                    : $"{vm.Name} was last replicated {(now - vm.LastReplicatedAt.Value).TotalMinutes:0.#} min ago (at most {maxAge.TotalMinutes:0.#} min allowed).");
            }

            if (plan.MaxDeltaBytes is { } maxDelta && (vm.LastDeltaBytes ?? long.MaxValue) > maxDelta)
            {
                problems.Add($"{vm.Name}'s last delta was {(vm.LastDeltaBytes is { } d ? d + " bytes" : "unknown")} (at most {maxDelta} allowed).");
            }
        }

        if (plan.DnsNames.Count > 0)
        {
            foreach (var finding in await DnsTtlCheck.CheckAsync(plan.DnsNames, plan.MaxDnsTtl, plan.DnsServer, cancellationToken).ConfigureAwait(false))
            {
                if (!finding.WithinLimit)
                {
                    problems.Add($"{finding.Name} has a TTL of {finding.Ttl!.Value.TotalSeconds:0} s (at most {plan.MaxDnsTtl.TotalSeconds:0} s planned): lower it and wait one old TTL before the cutover.");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", problems));
        }
    }

    private async Task<string?> ValidateAsync(Run run, CutoverPlan plan, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(plan.ValidationTimeout);
        return await run.EachVmAsync(CutoverStep.Validate, async (vm, _) =>
        {
            var pending = vm.Probes.ToList();
            string? last = null;
            while (pending.Count > 0)
            {
                foreach (var probe in pending.ToList())
                {
                    try
                    {
                        await probe.CheckAsync(deadline.Token).ConfigureAwait(false);
                        pending.Remove(probe);
                    }
                    catch (HealthProbeException e)
                    {
                        last = e.Message;
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        last ??= $"{probe.Name} did not answer";
                        break;
                    }
                }

                if (pending.Count == 0)
                {
                    break;
                }

                try
                {
                    await Task.Delay(plan.ProbeInterval, _time, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"{vm.Name} did not pass {string.Join(", ", pending.Select(p => p.Name))} within {plan.ValidationTimeout.TotalSeconds:0} s (last: {last}).");
                }
            }

            run.ValidatedAt[vm.Name] = _time.GetUtcNow();
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> RollbackAsync(Run run, CutoverPlan plan, IEnumerable<CutoverVm> started, bool dnsSwitched)
    {
        using var timeout = new CancellationTokenSource(RollbackTimeout);
        var errors = new ConcurrentBag<string>();
        if (dnsSwitched && plan.Dns is { } dns)
        {
            var dnsError = await run.StepAsync(CutoverStep.Rollback, "dns", dns.RevertAsync, timeout.Token).ConfigureAwait(false);
            if (dnsError is not null)
            {
                errors.Add(dnsError);
            }
        }

        var startedNames = started.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        await Task.WhenAll(plan.Vms.Select(async vm =>
        {
            var error = await run.StepAsync(CutoverStep.Rollback, vm.Name, async ct =>
            {
                if (startedNames.Contains(vm.Name))
                {
                    await vm.Target.StopAsync(ct).ConfigureAwait(false);
                }

                if (run.StoppedAt.ContainsKey(vm.Name))
                {
                    if (vm.RestartSource is null)
                    {
                        throw new InvalidOperationException($"{vm.Name}'s source was stopped and has no restart hook: start it by hand.");
                    }

                    await vm.RestartSource(ct).ConfigureAwait(false);
                }
            }, timeout.Token).ConfigureAwait(false);
            if (error is not null)
            {
                errors.Add(error);
            }
        })).ConfigureAwait(false);
        _log.LogWarning("Cutover of {Application} rolled back ({Errors} rollback errors).", plan.Application, errors.Count);
        return errors.IsEmpty ? null : string.Join(" ", errors);
    }

    /// <summary>The bookkeeping of one run: step timings and per-VM instants.</summary>
    private sealed class Run(CutoverRunner runner, CutoverPlan plan, IProgress<CutoverProgress>? progress)
    {
        private readonly ConcurrentQueue<CutoverStepTiming> _steps = new();

        public ConcurrentDictionary<string, DateTimeOffset> StoppedAt { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, DateTimeOffset> ValidatedAt { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, long> SyncedBytes { get; } = new(StringComparer.Ordinal);

        /// <summary>Runs one step; answers its failure in words, or null. Cancellation by the caller propagates.</summary>
        public async Task<string?> StepAsync(CutoverStep step, string? vm, Func<CancellationToken, Task> action, CancellationToken cancellationToken)
        {
            var start = runner._time.GetUtcNow();
            progress?.Report(new CutoverProgress(step, vm, false, null));
            string? error = null;
            try
            {
                await action(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error = "cancelled";
                throw;
            }
            catch (Exception e)
            {
                error = vm is null ? e.Message : $"{vm}: {e.Message}";
                runner._log.LogError(e, "Cutover step {Step} of {Vm} failed.", step, vm ?? plan.Application);
            }
            finally
            {
                _steps.Enqueue(new CutoverStepTiming(step, vm, start, runner._time.GetUtcNow() - start, error));
                progress?.Report(new CutoverProgress(step, vm, true, error));
            }

            return error;
        }

        /// <summary>Runs a step for every VM in parallel; answers the failures joined, or null.</summary>
        public async Task<string?> EachVmAsync(CutoverStep step, Func<CutoverVm, CancellationToken, Task> action, CancellationToken cancellationToken)
        {
            var errors = await Task.WhenAll(plan.Vms.Select(vm => StepAsync(step, vm.Name, ct => action(vm, ct), cancellationToken))).ConfigureAwait(false);
            var failed = errors.Where(e => e is not null).ToList();
            return failed.Count == 0 ? null : $"{step} failed: {string.Join(" ", failed)}";
        }

        public CutoverReport Report(bool succeeded, bool rolledBack, string? failure)
        {
            var perVm = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
            foreach (var (vm, stopped) in StoppedAt)
            {
                if (ValidatedAt.TryGetValue(vm, out var validated))
                {
                    perVm[vm] = validated - stopped;
                }
            }

            TimeSpan? downtime = succeeded && !StoppedAt.IsEmpty && ValidatedAt.Count == plan.Vms.Count
                ? ValidatedAt.Values.Max() - StoppedAt.Values.Min()
                : null;
            return new CutoverReport
            {
                Application = plan.Application,
                Succeeded = succeeded,
                RolledBack = rolledBack,
                Failure = failure,
                Steps = [.. _steps],
                Downtime = downtime,
                DowntimeByVm = perVm,
                FinalSyncBytes = new Dictionary<string, long>(SyncedBytes, StringComparer.Ordinal),
            };
        }
    }
}
