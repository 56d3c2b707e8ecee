namespace Whitesky.Migration.Ovf;

/// <summary>A network adapter item (ResourceType 10).</summary>
/// <param name="InstanceId">The <c>rasd:InstanceID</c>.</param>
/// <param name="Model">The <c>rasd:ResourceSubType</c> (<c>VmxNet3</c>, <c>E1000</c>, ...), or null.</param>
/// <param name="MacAddress">The <c>rasd:Address</c> normalized to lower-case <c>aa:bb:cc:dd:ee:ff</c>, or null.</param>
/// <param name="Network">The <c>rasd:Connection</c> (network name), or null.</param>
public sealed record OvfNetworkAdapter(string InstanceId, string? Model, string? MacAddress, string? Network);
