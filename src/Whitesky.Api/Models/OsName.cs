using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>The specific operating system (<c>os_name</c>) of a VM or image. Values are the swagger's exact strings; a value this SDK does not know still reads as itself.</summary>
[JsonConverter(typeof(StringEnumJsonConverter<OsName>))]
public readonly struct OsName : IEquatable<OsName>, IFormattable, IStringEnum<OsName>
{
    private readonly string? _value;

    /// <summary>Creates a value from its wire string (known or not).</summary>
    /// <param name="value">The exact string the API uses.</param>
    public OsName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary><c>Windows Server 2012</c>.</summary>
    public static OsName WindowsServer2012 { get; } = new("Windows Server 2012");

    /// <summary><c>Windows Server 2012 r2</c>.</summary>
    public static OsName WindowsServer2012R2 { get; } = new("Windows Server 2012 r2");

    /// <summary><c>Windows Server 2016</c>.</summary>
    public static OsName WindowsServer2016 { get; } = new("Windows Server 2016");

    /// <summary><c>Windows Server 2016 r2</c>.</summary>
    public static OsName WindowsServer2016R2 { get; } = new("Windows Server 2016 r2");

    /// <summary><c>Windows Server 2019</c>.</summary>
    public static OsName WindowsServer2019 { get; } = new("Windows Server 2019");

    /// <summary><c>Windows - other</c>.</summary>
    public static OsName WindowsOther { get; } = new("Windows - other");

    /// <summary><c>Ubuntu server 16.04</c>.</summary>
    public static OsName UbuntuServer1604 { get; } = new("Ubuntu server 16.04");

    /// <summary><c>Ubuntu server 18.04</c>.</summary>
    public static OsName UbuntuServer1804 { get; } = new("Ubuntu server 18.04");

    /// <summary><c>Ubuntu server 20.04</c>.</summary>
    public static OsName UbuntuServer2004 { get; } = new("Ubuntu server 20.04");

    /// <summary><c>Ubuntu 16.04</c>.</summary>
    public static OsName Ubuntu1604 { get; } = new("Ubuntu 16.04");

    /// <summary><c>Ubuntu 18.04</c>.</summary>
    public static OsName Ubuntu1804 { get; } = new("Ubuntu 18.04");

    /// <summary><c>Ubuntu 20.04</c>.</summary>
    public static OsName Ubuntu2004 { get; } = new("Ubuntu 20.04");

    /// <summary><c>Debian 5</c>.</summary>
    public static OsName Debian5 { get; } = new("Debian 5");

    /// <summary><c>Debian 6</c>.</summary>
    public static OsName Debian6 { get; } = new("Debian 6");

    /// <summary><c>Debian 7</c>.</summary>
    public static OsName Debian7 { get; } = new("Debian 7");

    /// <summary><c>Debian 8</c>.</summary>
    public static OsName Debian8 { get; } = new("Debian 8");

    /// <summary><c>Debian 9</c>.</summary>
    public static OsName Debian9 { get; } = new("Debian 9");

    /// <summary><c>Debian 10</c>.</summary>
    public static OsName Debian10 { get; } = new("Debian 10");

    /// <summary><c>Centos 7</c>.</summary>
    public static OsName Centos7 { get; } = new("Centos 7");

    /// <summary><c>Centos 8</c>.</summary>
    public static OsName Centos8 { get; } = new("Centos 8");

    /// <summary><c>RHEL 3</c>.</summary>
    public static OsName Rhel3 { get; } = new("RHEL 3");

    /// <summary><c>RHEL 4</c>.</summary>
    public static OsName Rhel4 { get; } = new("RHEL 4");

    /// <summary><c>RHEL 5</c>.</summary>
    public static OsName Rhel5 { get; } = new("RHEL 5");

    /// <summary><c>RHEL 6</c>.</summary>
    public static OsName Rhel6 { get; } = new("RHEL 6");

    /// <summary><c>RHEL 7</c>.</summary>
    public static OsName Rhel7 { get; } = new("RHEL 7");

    /// <summary><c>RHEL 8</c>.</summary>
    public static OsName Rhel8 { get; } = new("RHEL 8");

    /// <summary><c>Suse Linux Enterprise Server 9</c>.</summary>
    public static OsName SuseLinuxEnterpriseServer9 { get; } = new("Suse Linux Enterprise Server 9");

    /// <summary><c>Suse Linux Enterprise Server 10</c>.</summary>
    public static OsName SuseLinuxEnterpriseServer10 { get; } = new("Suse Linux Enterprise Server 10");

    /// <summary><c>Suse Linux Enterprise Server 11</c>.</summary>
    public static OsName SuseLinuxEnterpriseServer11 { get; } = new("Suse Linux Enterprise Server 11");

    /// <summary><c>Suse Linux Enterprise Server 12</c>.</summary>
    public static OsName SuseLinuxEnterpriseServer12 { get; } = new("Suse Linux Enterprise Server 12");

    /// <summary><c>Suse Linux Enterprise Server 15</c>.</summary>
    public static OsName SuseLinuxEnterpriseServer15 { get; } = new("Suse Linux Enterprise Server 15");

    /// <summary><c>Openwrt 17</c>.</summary>
    public static OsName Openwrt17 { get; } = new("Openwrt 17");

    /// <summary><c>Openwrt 18</c>.</summary>
    public static OsName Openwrt18 { get; } = new("Openwrt 18");

    /// <summary><c>Openwrt 19</c>.</summary>
    public static OsName Openwrt19 { get; } = new("Openwrt 19");

    /// <summary><c>Linux - other</c>.</summary>
    public static OsName LinuxOther { get; } = new("Linux - other");

    /// <summary><c>Unix - other</c>.</summary>
    public static OsName UnixOther { get; } = new("Unix - other");

    /// <summary><c>other</c>.</summary>
    public static OsName Other { get; } = new("other");

    /// <summary><c>Other - other</c>.</summary>
    public static OsName OtherOther { get; } = new("Other - other");

    /// <summary><c>Free bsd 5</c>.</summary>
    public static OsName FreeBsd5 { get; } = new("Free bsd 5");

    /// <summary><c>Free bsd 6</c>.</summary>
    public static OsName FreeBsd6 { get; } = new("Free bsd 6");

    /// <summary><c>Free bsd 7</c>.</summary>
    public static OsName FreeBsd7 { get; } = new("Free bsd 7");

    /// <summary><c>Free bsd 11</c>.</summary>
    public static OsName FreeBsd11 { get; } = new("Free bsd 11");

    /// <summary><c>Free bsd 12</c>.</summary>
    public static OsName FreeBsd12 { get; } = new("Free bsd 12");

    /// <summary><c>Free bsd 13</c>.</summary>
    public static OsName FreeBsd13 { get; } = new("Free bsd 13");

    /// <summary><c>BSD - other</c>.</summary>
    public static OsName BsdOther { get; } = new("BSD - other");

    /// <summary><c>Mac OS</c>.</summary>
    public static OsName MacOS { get; } = new("Mac OS");

    /// <summary><c>Darwin - other</c>.</summary>
    public static OsName DarwinOther { get; } = new("Darwin - other");

    /// <summary>Every value the swagger lists, in its order.</summary>
    public static IReadOnlyList<OsName> Known { get; } = [WindowsServer2012, WindowsServer2012R2, WindowsServer2016, WindowsServer2016R2, WindowsServer2019, WindowsOther, UbuntuServer1604, UbuntuServer1804, UbuntuServer2004, Ubuntu1604, Ubuntu1804, Ubuntu2004, Debian5, Debian6, Debian7, Debian8, Debian9, Debian10, Centos7, Centos8, Rhel3, Rhel4, Rhel5, Rhel6, Rhel7, Rhel8, SuseLinuxEnterpriseServer9, SuseLinuxEnterpriseServer10, SuseLinuxEnterpriseServer11, SuseLinuxEnterpriseServer12, SuseLinuxEnterpriseServer15, Openwrt17, Openwrt18, Openwrt19, LinuxOther, UnixOther, Other, OtherOther, FreeBsd5, FreeBsd6, FreeBsd7, FreeBsd11, FreeBsd12, FreeBsd13, BsdOther, MacOS, DarwinOther];

    /// <summary>The exact string the API uses.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether the swagger lists this value.</summary>
    public bool IsKnown => Known.Contains(this);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator ==(OsName left, OsName right) => left.Equals(right);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator !=(OsName left, OsName right) => !left.Equals(right);

    static OsName IStringEnum<OsName>.FromValue(string value) => new(value);

    /// <inheritdoc/>
    public bool Equals(OsName other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is OsName other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>The wire string.</summary>
    public override string ToString() => Value;

    /// <summary>The wire string (format and provider do not apply).</summary>
    /// <param name="format">Ignored.</param>
    /// <param name="formatProvider">Ignored.</param>
    /// <returns>The wire string.</returns>
    public string ToString(string? format, IFormatProvider? formatProvider) => Value;
}
