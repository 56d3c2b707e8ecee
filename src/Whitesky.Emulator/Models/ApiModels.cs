namespace Whitesky.Emulator.Models;

// The shapes the emulator answers, named after the swagger's definitions and serialized snake_case
// (JsonNamingPolicy.SnakeCaseLower). Only properties the swagger defines; null ones are left out.

internal sealed record SuccessModel(bool Success);

internal sealed record ChangedModel(bool Changed);

internal sealed record DiskIdModel(int DiskId);

internal sealed record VmIdModel(int VmId);

internal sealed record DiskModelIotune(double Iops);

internal sealed record DiskModel
{
    public required string Status { get; init; }
    public required int DiskSize { get; init; }
    public required string DiskName { get; init; }
    public required string Description { get; init; }
    public required bool Exposed { get; init; }
    public required int DiskId { get; init; }
    public required string DiskType { get; init; }
    public required string Order { get; init; }
    public int? VmId { get; init; }
    public required string CloudspaceId { get; init; }
    public required DiskModelIotune Iotune { get; init; }
}

internal sealed record DisksModel
{
    public required string Status { get; init; }
    public required int DiskSize { get; init; }
    public required string DiskName { get; init; }
    public required string Description { get; init; }
    public string? DeletionTime { get; init; }
    public required bool Exposed { get; init; }
    public required int DiskId { get; init; }
    public required string DiskType { get; init; }
    public required string Order { get; init; }
    public int? VmId { get; init; }
    public string? VmName { get; init; }
    public required string CloudspaceId { get; init; }
    public required DiskModelIotune Iotune { get; init; }
}

internal sealed record ResultList<T>(IReadOnlyList<T> Result);

internal sealed record ExposeDiskModelEndpoint
{
    public required string Psk { get; init; }
    public required string User { get; init; }
    public required int Port { get; init; }
    public required string Name { get; init; }
    public required string Address { get; init; }
    public required int PrivatePort { get; init; }
    public required string PrivateAddress { get; init; }
}

internal sealed record ExposeDiskModel(string Protocol, ExposeDiskModelEndpoint Endpoint);

internal sealed record ExposedDiskStruct(int DiskId);

internal sealed record LocationStatus(string Location, string Status);

internal sealed record CloudspacesModel
{
    public required string CloudspaceId { get; init; }
    public required string Status { get; init; }
    public required string Name { get; init; }
    public required string ExternalNetworkIp { get; init; }
    public required long CreationTime { get; init; }
    public required long UpdateTime { get; init; }
    public required string RouterType { get; init; }
    public required string CloudspaceMode { get; init; }
    public required string PrivateNetwork { get; init; }
    public required string Location { get; init; }
}

internal sealed record Cloudspaces(IReadOnlyList<LocationStatus> Locations, IReadOnlyList<CloudspacesModel> Result);

internal sealed record ResourcePricesStruct(double Su, double Ou, double Mu, double Vcu, double Tu, double Wu, double Nu, double Piu, double Vgu, double Fsu);

internal sealed record G8PricingStruct(string Location, ResourcePricesStruct Resources);

internal sealed record PricingStruct(string Currency, IReadOnlyList<G8PricingStruct> Locations);

internal sealed record VmInfoModelDisks
{
    public required string Status { get; init; }
    public required int DiskSize { get; init; }
    public required string DiskName { get; init; }
    public required string Description { get; init; }
    public required bool Exposed { get; init; }
    public required int PciBus { get; init; }
    public required int PciSlot { get; init; }
    public required int DiskId { get; init; }
    public required string DiskType { get; init; }
    public required string Order { get; init; }
}

internal sealed record VmInfoModelDevices(string ReferenceId, string Type, string Description);

internal sealed record VmInfoModelCpuTopology(int Cores, int Threads, int Sockets);

internal sealed record VmInfoModelNetworkInterfaces
{
    public required string DeviceName { get; init; }
    public required string MacAddress { get; init; }
    public required string IpAddress { get; init; }
    public required int NetworkId { get; init; }
    public required string NicType { get; init; }
    public required string Model { get; init; }
}

internal sealed record VmInfoModel
{
    public required string Name { get; init; }
    public required int VmId { get; init; }
    public required string Description { get; init; }
    public int? BootDiskId { get; init; }
    public required string CloudspaceId { get; init; }
    public required string Status { get; init; }
    public required double UpdateTime { get; init; }
    public required double CreationTime { get; init; }
    public required int Vcpus { get; init; }
    public required int Storage { get; init; }
    public required int Memory { get; init; }
    public required string AgentStatus { get; init; }
    public int? ImageId { get; init; }
    public required bool Locked { get; init; }
    public required string Hostname { get; init; }
    public required IReadOnlyList<VmInfoModelDisks> Disks { get; init; }
    public required IReadOnlyList<VmInfoModelNetworkInterfaces> NetworkInterfaces { get; init; }
    public required bool Appliance { get; init; }
    public required string BootType { get; init; }
    public required VmInfoModelCpuTopology CpuTopology { get; init; }
    public required IReadOnlyList<VmInfoModelDevices> Devices { get; init; }
    public required bool TpmEnabled { get; init; }
}

internal sealed record VmsModel
{
    public required int VmId { get; init; }
    public required string Name { get; init; }
    public required string Status { get; init; }
    public string? DeletionTime { get; init; }
    public required double CreationTime { get; init; }
    public required double UpdateTime { get; init; }
    public required string ReferenceId { get; init; }
    public int? ImageId { get; init; }
    public required int Storage { get; init; }
    public required int Vcpus { get; init; }
    public required int Memory { get; init; }
    public required bool Appliance { get; init; }
    public required IReadOnlyList<int> Disks { get; init; }
    public required bool TpmEnabled { get; init; }
    public required IReadOnlyList<VmInfoModelDevices> Devices { get; init; }
}

internal sealed record UploadImageStruct(string UploadId, string ObjectName, int PartSize);

internal sealed record UploadedPart
{
    public int PartNumber { get; init; }
    public string? Etag { get; init; }
}

internal sealed record CreateImageExpectStruct
{
    public string? ObjectName { get; init; }
    public IReadOnlyList<UploadedPart>? UploadedParts { get; init; }
}

internal sealed record ImageModel
{
    public required int ImageId { get; init; }
    public required string Status { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string OsType { get; init; }
    public required string OsName { get; init; }
    public required string BootType { get; init; }
    public required long Size { get; init; }
}

internal sealed record ResourceDnsRecordStruct
{
    public required string Value { get; init; }
    public required string DomainName { get; init; }
    public required string Type { get; init; }
    public required int Priority { get; init; }
    public required int Weight { get; init; }
    public required string Service { get; init; }
    public required string Protocol { get; init; }
    public required int Port { get; init; }
    public required string Tag { get; init; }
    public required string Flag { get; init; }
    public required string CaaDomain { get; init; }
}

internal sealed record ImportVmS3ArgsModel
{
    public string? Link { get; init; }
    public string? Key { get; init; }
    public string? Secret { get; init; }
    public string? Region { get; init; }
    public string? Bucket { get; init; }
    public string? ObjectName { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public int? Vcpus { get; init; }
    public int? Memory { get; init; }
    public string? BootType { get; init; }
    public string? CallbackUrl { get; init; }
    public string? PrivateIp { get; init; }
    public string? OsType { get; init; }
    public string? OsName { get; init; }
    public bool? Strict { get; init; }

    // Secrets stay out of logs even if a record is printed.
    public override string ToString() => $"ImportVmS3ArgsModel {{ Bucket = {Bucket}, ObjectName = {ObjectName}, Name = {Name} }}";
}

internal sealed record ExportVmS3ArgsModel
{
    public string? Link { get; init; }
    public string? Key { get; init; }
    public string? Secret { get; init; }
    public string? Region { get; init; }
    public string? Bucket { get; init; }
    public string? ObjectName { get; init; }
    public string? CallbackUrl { get; init; }

    public override string ToString() => $"ExportVmS3ArgsModel {{ Bucket = {Bucket}, ObjectName = {ObjectName} }}";
}

/// <summary>The body of an error: flask-restx's <c>message</c>, and per-argument <c>errors</c> for validation failures.</summary>
internal sealed record ErrorModel(string Message, IReadOnlyDictionary<string, string>? Errors = null);
