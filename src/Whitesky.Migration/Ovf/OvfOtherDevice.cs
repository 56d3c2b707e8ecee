namespace Whitesky.Migration.Ovf;

/// <summary>A hardware item the SDK does not model (USB, sound, video, serial, FC/iSCSI HBAs, ...).</summary>
/// <param name="InstanceId">The <c>rasd:InstanceID</c>.</param>
/// <param name="ResourceType">The CIM ResourceType code.</param>
/// <param name="ElementName">The item's name.</param>
/// <param name="Required">False when the item was marked <c>ovf:required="false"</c>.</param>
public sealed record OvfOtherDevice(string InstanceId, int ResourceType, string? ElementName, bool Required);
