namespace Whitesky.Migration.Cutover;

/// <summary>The steps of a cutover, in order.</summary>
public enum CutoverStep
{
    /// <summary>Replication freshness, delta size and DNS TTL checks; nothing has stopped yet.</summary>
    PreChecks,

    /// <summary>The sources are quiesced and stopped (downtime starts).</summary>
    StopSources,

    /// <summary>The final delta of every VM is copied, in parallel.</summary>
    FinalSync,

    /// <summary>The target VMs are created and started.</summary>
    StartTargets,

    /// <summary>The probes run until they pass (downtime ends) or time out.</summary>
    Validate,

    /// <summary>DNS points at the targets.</summary>
    SwitchDns,

    /// <summary>Targets stopped and sources restarted after a failure.</summary>
    Rollback,
}

/// <summary>One step of one VM (or of the whole application when <see cref="Vm"/> is null).</summary>
/// <param name="Step">The step.</param>
/// <param name="Vm">The VM, or null for an application-wide step.</param>
/// <param name="Started">When it started.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Error">Why it failed; null when it succeeded.</param>
public sealed record CutoverStepTiming(CutoverStep Step, string? Vm, DateTimeOffset Started, TimeSpan Duration, string? Error);

/// <summary>What a cutover did and how long the application was down.</summary>
public sealed record CutoverReport
{
    /// <summary>The application.</summary>
    public required string Application { get; init; }

    /// <summary>Whether every VM runs in whitesky, validated (and DNS switched).</summary>
    public required bool Succeeded { get; init; }

    /// <summary>Whether a rollback ran.</summary>
    public bool RolledBack { get; init; }

    /// <summary>Why the cutover stopped, when it did not succeed.</summary>
    public string? Failure { get; init; }

    /// <summary>Every step, in the order they finished.</summary>
    public required IReadOnlyList<CutoverStepTiming> Steps { get; init; }

    /// <summary>From the first source stop to the last validation success; null when nothing stopped or validation failed.</summary>
    public TimeSpan? Downtime { get; init; }

    /// <summary>Per VM: from its source stop to its validation success.</summary>
    public IReadOnlyDictionary<string, TimeSpan> DowntimeByVm { get; init; } = new Dictionary<string, TimeSpan>();

    /// <summary>Bytes each VM's final sync sent.</summary>
    public IReadOnlyDictionary<string, long> FinalSyncBytes { get; init; } = new Dictionary<string, long>();

    /// <summary>The report as text: one line per step, then the downtime.</summary>
    public string ToText()
    {
        var lines = new List<string> { $"Cutover of {Application}: {(Succeeded ? "succeeded" : RolledBack ? "failed, rolled back" : "failed")}" };
        foreach (var s in Steps)
        {
            lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"  {s.Step,-12} {s.Vm ?? "(all)",-16} {s.Duration.TotalSeconds,8:0.000} s{(s.Error is null ? "" : "  FAILED: " + s.Error)}"));
        }

        if (Downtime is { } d)
        {
            lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"  downtime: {d.TotalSeconds:0.000} s"));
            foreach (var (vm, t) in DowntimeByVm)
            {
                lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"    {vm}: {t.TotalSeconds:0.000} s"));
            }
        }

        if (Failure is not null)
        {
            lines.Add("  failure: " + Failure);
        }

        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>Progress of a cutover: the step starting or finished, per VM.</summary>
/// <param name="Step">The step.</param>
/// <param name="Vm">The VM, or null for the application.</param>
/// <param name="Finished">False when the step starts, true when it ended.</param>
/// <param name="Error">The failure, when it ended badly.</param>
public sealed record CutoverProgress(CutoverStep Step, string? Vm, bool Finished, string? Error);
