using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>Source-generated System.Text.Json metadata for every body the client reads or writes (snake_case names).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(LocationPricing))]
[JsonSerializable(typeof(CloudspaceList))]
[JsonSerializable(typeof(DiskList))]
[JsonSerializable(typeof(DiskIdResult))]
[JsonSerializable(typeof(DiskInfo))]
[JsonSerializable(typeof(SuccessResult))]
[JsonSerializable(typeof(ChangedResult))]
[JsonSerializable(typeof(ExposedDiskList))]
[JsonSerializable(typeof(DiskExposure))]
[JsonSerializable(typeof(VirtualMachineList))]
[JsonSerializable(typeof(VmIdResult))]
[JsonSerializable(typeof(VirtualMachineInfo))]
[JsonSerializable(typeof(VirtualMachineDiskList))]
[JsonSerializable(typeof(CdromUpload))]
[JsonSerializable(typeof(CdromUploadCompletion))]
[JsonSerializable(typeof(ImageInfo))]
[JsonSerializable(typeof(ImportVmFromS3Request))]
[JsonSerializable(typeof(ExportVmToS3Request))]
[JsonSerializable(typeof(DnsRecordList))]
[JsonSerializable(typeof(string))]
internal sealed partial class WhiteskyJsonContext : JsonSerializerContext;
