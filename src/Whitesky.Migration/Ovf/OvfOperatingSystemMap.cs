using System.Text.RegularExpressions;

namespace Whitesky.Migration.Ovf;

/// <summary>
/// Maps an OperatingSystemSection (CIM OsType code, VMware <c>vmw:osType</c>, VirtualBox OS type, description)
/// to whitesky's <c>os_type</c> and <c>os_name</c>, using the exact strings of the API's enumerations.
/// </summary>
public static partial class OvfOperatingSystemMap
{
    /// <summary>whitesky <c>os_type</c> values.</summary>
    public const string Linux = "Linux", Windows = "Windows", Unix = "Unix", Bsd = "BSD", Darwin = "Darwin", Other = "Other";

    /// <summary>Maps what a descriptor says about the guest.</summary>
    public static OvfOperatingSystem Map(int? cimId, string? vendorOsType, string? description)
    {
        var text = string.Join(' ', vendorOsType ?? "", description ?? "");
        var type = TypeFromVendor(vendorOsType) ?? TypeFromCim(cimId) ?? TypeFromText(text) ?? Other;
        var name = NameFor(type, vendorOsType ?? "", text, cimId);
        return new OvfOperatingSystem(cimId, vendorOsType, description, type, name ?? FallbackName(type), name is not null);
    }

    /// <summary>The "- other" name of a type (<c>Linux - other</c>, ...).</summary>
    public static string FallbackName(string osType) => osType switch
    {
        Linux => "Linux - other",
        Windows => "Windows - other",
        Unix => "Unix - other",
        Bsd => "BSD - other",
        Darwin => "Darwin - other",
        _ => "Other - other",
    };

    /// <summary>A CIM OsType code for a whitesky os type, for descriptors the SDK writes.</summary>
    public static int CimIdFor(string osType, string? osName) => (osType, osName) switch
    {
        (Windows, "Windows Server 2019" or "Windows Server 2016" or "Windows Server 2016 r2") => 1, // CIM has no code for these; VMware writes 1 with vmw:osType
        (Windows, "Windows Server 2012") => 112,
        (Windows, "Windows Server 2012 r2") => 115,
        (Windows, _) => 1,
        (Linux, { } n) when n.StartsWith("Ubuntu", StringComparison.Ordinal) => 94,
        (Linux, { } n) when n.StartsWith("Debian", StringComparison.Ordinal) => 96,
        (Linux, { } n) when n.StartsWith("Centos", StringComparison.Ordinal) => 107,
        (Linux, { } n) when n.StartsWith("RHEL", StringComparison.Ordinal) => 80,
        (Linux, { } n) when n.StartsWith("Suse", StringComparison.Ordinal) => 85,
        (Linux, _) => 101,
        (Bsd, _) => 78,
        (Darwin, _) => 2,
        (Unix, _) => 1,
        _ => 1,
    };

    private static string? TypeFromVendor(string? vendor)
    {
        if (string.IsNullOrEmpty(vendor))
        {
            return null;
        }

        var v = vendor.ToUpperInvariant();
        if (v.StartsWith("WIN", StringComparison.Ordinal))
        {
            return Windows;
        }

        if (v.StartsWith("DARWIN", StringComparison.Ordinal) || v.StartsWith("MACOS", StringComparison.Ordinal))
        {
            return Darwin;
        }

        if (v.Contains("BSD", StringComparison.Ordinal))
        {
            return Bsd;
        }

        if (v.StartsWith("SOLARIS", StringComparison.Ordinal) || v.StartsWith("UNIX", StringComparison.Ordinal) || v.StartsWith("OPENSOLARIS", StringComparison.Ordinal))
        {
            return Unix;
        }

        string[] linux = ["UBUNTU", "DEBIAN", "CENTOS", "RHEL", "REDHAT", "SLES", "SUSE", "OPENSUSE", "FEDORA", "ORACLE", "ASIANUX", "OTHERLINUX", "OTHER26XLINUX", "OTHER24XLINUX", "OTHER3XLINUX", "OTHER4XLINUX", "OTHER5XLINUX", "LINUX", "ROCKY", "ALMA", "PHOTON", "COREOS", "MANDRIVA", "MANDRAKE", "TURBOLINUX", "GENTOO", "ARCHLINUX", "AMAZONLINUX", "OPENWRT"];
        return linux.Any(p => v.StartsWith(p, StringComparison.Ordinal)) || v.Contains("LINUX", StringComparison.Ordinal) ? Linux : null;
    }

    private static string? TypeFromCim(int? id) => id switch
    {
        null or 0 or 1 or 102 => null,
        2 => Darwin,
        36 or (>= 79 and <= 80) or (>= 82 and <= 101) or (>= 106 and <= 109) => Linux,
        42 or 43 or 78 => Bsd,
        >= 58 and <= 77 => Windows,
        103 or 105 or 111 or (>= 112 and <= 121) => Windows,
        6 or 7 or 8 or 9 or 10 or 29 or 30 or 81 => Unix,
        _ => null,
    };

    private static string? TypeFromText(string text)
    {
        if (text.Contains("windows", StringComparison.OrdinalIgnoreCase))
        {
            return Windows;
        }

        if (text.Contains("bsd", StringComparison.OrdinalIgnoreCase))
        {
            return Bsd;
        }

        string[] linux = ["linux", "ubuntu", "debian", "centos", "red hat", "suse"];
        return linux.Any(w => text.Contains(w, StringComparison.OrdinalIgnoreCase)) ? Linux : null;
    }

    private static string? NameFor(string type, string vendor, string text, int? cimId)
    {
        var v = vendor.ToUpperInvariant();
        switch (type)
        {
            case Windows:
                if (v.Contains("2019", StringComparison.Ordinal) || text.Contains("2019", StringComparison.Ordinal) ||
                    v.StartsWith("WINDOWS2022", StringComparison.Ordinal) || v.Contains("2022", StringComparison.Ordinal))
                {
                    // whitesky has no later server name than 2019; 2022 guests run with the 2019 profile.
                    return "Windows Server 2019";
                }

                if (v.StartsWith("WINDOWS9SERVER", StringComparison.Ordinal) || text.Contains("2016", StringComparison.Ordinal))
                {
                    return "Windows Server 2016";
                }

                if (text.Contains("2012 R2", StringComparison.OrdinalIgnoreCase) || cimId == 115)
                {
                    return "Windows Server 2012 r2";
                }

                if (v.StartsWith("WINDOWS8SERVER", StringComparison.Ordinal) || text.Contains("2012", StringComparison.Ordinal) || cimId == 112)
                {
                    return "Windows Server 2012";
                }

                return null;
            case Linux:
                return LinuxName(v, text, cimId);
            case Bsd:
                var bsd = FreeBsdVersion().Match(v + " " + text);
                return bsd.Success && bsd.Groups[1].Value is "5" or "6" or "7" or "11" or "12" or "13" ? "Free bsd " + bsd.Groups[1].Value : null;
            case Darwin:
                return "Mac OS";
            default:
                return type == Other ? "other" : null;
        }
    }

    private static string? LinuxName(string v, string text, int? cimId)
    {
        var ubuntu = UbuntuVersion().Match(text);
        if (ubuntu.Success && ubuntu.Groups[2].Value is "16.04" or "18.04" or "20.04")
        {
            var server = ubuntu.Groups[1].Success ? "server " : "";
            return "Ubuntu " + server + ubuntu.Groups[2].Value;
        }

        var debian = DebianVersion().Match(v + " " + text);
        if (debian.Success && int.TryParse(debian.Groups[1].Value, out var d) && d is >= 5 and <= 10)
        {
            return "Debian " + debian.Groups[1].Value;
        }

        var centos = CentosVersion().Match(v + " " + text);
        if (centos.Success && centos.Groups[1].Value is "7" or "8")
        {
            return "Centos " + centos.Groups[1].Value;
        }

        var rhel = RhelVersion().Match(v + " " + text);
        if (rhel.Success && int.TryParse(rhel.Groups[1].Value, out var r) && r is >= 3 and <= 8)
        {
            return "RHEL " + rhel.Groups[1].Value;
        }

        var sles = SlesVersion().Match(v + " " + text);
        if (sles.Success && sles.Groups[1].Value is "9" or "10" or "11" or "12" or "15")
        {
            return "Suse Linux Enterprise Server " + sles.Groups[1].Value;
        }

        var openwrt = OpenWrtVersion().Match(text);
        return openwrt.Success && openwrt.Groups[1].Value is "17" or "18" or "19" ? "Openwrt " + openwrt.Groups[1].Value : null;
    }

    [GeneratedRegex(@"ubuntu\s*(server)?[^0-9]*?(\d{2}\.\d{2})", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UbuntuVersion();

    [GeneratedRegex(@"debian\D{0,20}?(\d{1,2})(?!\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DebianVersion();

    [GeneratedRegex(@"centos\D{0,10}?(\d{1,2})(?!\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CentosVersion();

    [GeneratedRegex(@"(?:rhel|red hat enterprise linux)\D{0,10}?(\d{1,2})(?!\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RhelVersion();

    [GeneratedRegex(@"(?:sles|suse linux enterprise(?: server)?)\D{0,10}?(\d{1,2})(?!\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SlesVersion();

    [GeneratedRegex(@"openwrt\D{0,10}?(\d{2})", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OpenWrtVersion();

    [GeneratedRegex(@"freebsd\D{0,10}?(\d{1,2})(?!\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FreeBsdVersion();
}
