namespace Whitesky.Migration.Ovf;

/// <summary>One thing validation found.</summary>
/// <param name="Severity">How much it matters.</param>
/// <param name="Code">A stable code (<see cref="OvfFindingCodes"/>) for programs.</param>
/// <param name="Subject">What it is about: a file name, a disk id, a hardware item.</param>
/// <param name="Message">What is wrong and what to do, for people.</param>
public sealed record OvfFinding(OvfFindingSeverity Severity, string Code, string Subject, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Severity} {Code} [{Subject}]: {Message}";
}
