namespace Whitesky.Emulator.Http;

/// <summary>The enumerations the swagger gives for the parameters the emulator validates.</summary>
internal static class SwaggerEnums
{
    public static readonly string[] DiskType = ["DATA", "BOOT", "PHYSICAL"];

    public static readonly string[] RaidLevel = ["no raid", "raid1", "raid5"];

    public static readonly string[] BootType = ["bios", "uefi", "uefi-secure-boot"];

    public static readonly string[] OsType = ["Linux", "Windows", "Unix", "BSD", "Darwin", "Other"];

    public static readonly string[] DnsRecordType = ["A", "AAAA", "MX", "NS", "CNAME", "TXT", "SRV", "CAA"];

    public static readonly string[] OsName =
    [
        "Windows Server 2012", "Windows Server 2012 r2", "Windows Server 2016", "Windows Server 2016 r2", "Windows Server 2019",
        "Windows - other", "Ubuntu server 16.04", "Ubuntu server 18.04", "Ubuntu server 20.04", "Ubuntu 16.04", "Ubuntu 18.04",
        "Ubuntu 20.04", "Debian 5", "Debian 6", "Debian 7", "Debian 8", "Debian 9", "Debian 10", "Centos 7", "Centos 8",
        "RHEL 3", "RHEL 4", "RHEL 5", "RHEL 6", "RHEL 7", "RHEL 8", "Suse Linux Enterprise Server 9",
        "Suse Linux Enterprise Server 10", "Suse Linux Enterprise Server 11", "Suse Linux Enterprise Server 12",
        "Suse Linux Enterprise Server 15", "Openwrt 17", "Openwrt 18", "Openwrt 19", "Linux - other", "Unix - other", "other",
        "Other - other", "Free bsd 5", "Free bsd 6", "Free bsd 7", "Free bsd 11", "Free bsd 12", "Free bsd 13", "BSD - other",
        "Mac OS", "Darwin - other",
    ];
}
