namespace Whitesky.Migration.Ovf;

/// <summary>The <c>OperatingSystemSection</c> and what whitesky calls it.</summary>
/// <param name="CimId">The <c>ovf:id</c>: a CIM_OperatingSystem OsType code, or null.</param>
/// <param name="VendorOsType">The vendor's name for the guest: <c>vmw:osType</c> (<c>ubuntu64Guest</c>) or VirtualBox's <c>vbox:OSType</c>.</param>
/// <param name="Description">The section's <c>Description</c>.</param>
/// <param name="WhiteskyOsType">whitesky <c>os_type</c>: <c>Linux</c>, <c>Windows</c>, <c>Unix</c>, <c>BSD</c>, <c>Darwin</c> or <c>Other</c>.</param>
/// <param name="WhiteskyOsName">whitesky <c>os_name</c>, one of the API's names (for example <c>Windows Server 2019</c>, <c>Ubuntu 20.04</c>, <c>Linux - other</c>).</param>
/// <param name="IsExactMatch">False when the name is a "- other" fallback for a guest the API has no name for.</param>
public sealed record OvfOperatingSystem(int? CimId, string? VendorOsType, string? Description, string WhiteskyOsType, string WhiteskyOsName, bool IsExactMatch);
