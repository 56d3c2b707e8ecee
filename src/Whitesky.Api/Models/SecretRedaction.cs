using System.Text;

namespace Whitesky.Api.Models;

// Records print every property in ToString(); these leave their secret out so a logged or
// interpolated model never carries a key, a PSK or a password.

public sealed partial record DiskExposureEndpoint
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Address = ").Append(Address)
            .Append(", Port = ").Append(Port)
            .Append(", Name = ").Append(Name)
            .Append(", User = ").Append(User)
            .Append(", Psk = ").Append(Psk is null ? null : Redaction.Mask)
            .Append(", PrivateAddress = ").Append(PrivateAddress)
            .Append(", PrivatePort = ").Append(PrivatePort);
        return true;
    }
}

public sealed partial record ImportVmFromS3Request
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Link = ").Append(Link)
            .Append(", Key = ").Append(Key)
            .Append(", Secret = ").Append(Redaction.Mask)
            .Append(", Region = ").Append(Region)
            .Append(", Bucket = ").Append(Bucket)
            .Append(", ObjectName = ").Append(ObjectName)
            .Append(", Name = ").Append(Name)
            .Append(", Description = ").Append(Description)
            .Append(", VCpus = ").Append(VCpus)
            .Append(", Memory = ").Append(Memory)
            .Append(", BootType = ").Append(BootType)
            .Append(", OsType = ").Append(OsType)
            .Append(", OsName = ").Append(OsName)
            .Append(", PrivateIp = ").Append(PrivateIp)
            .Append(", Strict = ").Append(Strict)
            .Append(", CallbackUrl = ").Append(CallbackUrl);
        return true;
    }
}

public sealed partial record ExportVmToS3Request
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Link = ").Append(Link)
            .Append(", Key = ").Append(Key)
            .Append(", Secret = ").Append(Redaction.Mask)
            .Append(", Region = ").Append(Region)
            .Append(", Bucket = ").Append(Bucket)
            .Append(", ObjectName = ").Append(ObjectName)
            .Append(", CallbackUrl = ").Append(CallbackUrl);
        return true;
    }
}

public sealed partial record VirtualMachineOsAccount
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Login = ").Append(Login)
            .Append(", Password = ").Append(Password is null ? null : Redaction.Mask);
        return true;
    }
}

internal static class Redaction
{
    public const string Mask = "***";
}
