namespace Whitesky.Migration.Ovf;

/// <summary>What validation of an OVF package found, before anything is uploaded.</summary>
/// <param name="Findings">Everything found, errors first.</param>
public sealed record OvfValidationReport(IReadOnlyList<OvfFinding> Findings)
{
    /// <summary>True when nothing stops the import (no finding is an error).</summary>
    public bool IsValid => Findings.All(f => f.Severity != OvfFindingSeverity.Error);

    /// <summary>The errors.</summary>
    public IEnumerable<OvfFinding> Errors => Findings.Where(f => f.Severity == OvfFindingSeverity.Error);

    /// <summary>The warnings.</summary>
    public IEnumerable<OvfFinding> Warnings => Findings.Where(f => f.Severity == OvfFindingSeverity.Warning);

    /// <summary>The findings with a code.</summary>
    public IEnumerable<OvfFinding> WithCode(string code) => Findings.Where(f => f.Code == code);
}
