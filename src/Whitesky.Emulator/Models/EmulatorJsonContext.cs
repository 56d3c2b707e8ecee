using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Whitesky.Emulator.Routes;

namespace Whitesky.Emulator.Models;

/// <summary>
/// Source-generated JSON metadata for every shape the emulator reads or answers, so that it runs without
/// reflection (the native-AOT <c>whitesky-migrate emulator</c>). The options match <see cref="EmulatorApi.Json"/>,
/// which resolves types only through this context: a shape missing here fails every build's tests, not only AOT.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SuccessModel))]
[JsonSerializable(typeof(ChangedModel))]
[JsonSerializable(typeof(DiskIdModel))]
[JsonSerializable(typeof(VmIdModel))]
[JsonSerializable(typeof(DiskModel))]
[JsonSerializable(typeof(ResultList<DisksModel>))]
[JsonSerializable(typeof(ExposeDiskModel))]
[JsonSerializable(typeof(ResultList<ExposedDiskStruct>))]
[JsonSerializable(typeof(Cloudspaces))]
[JsonSerializable(typeof(PricingStruct))]
[JsonSerializable(typeof(ResultList<VmInfoModelDisks>))]
[JsonSerializable(typeof(ResultList<VmsModel>))]
[JsonSerializable(typeof(VmInfoModel))]
[JsonSerializable(typeof(UploadImageStruct))]
[JsonSerializable(typeof(CreateImageExpectStruct))]
[JsonSerializable(typeof(ImageModel))]
[JsonSerializable(typeof(ResultList<ResourceDnsRecordStruct>))]
[JsonSerializable(typeof(ImportVmS3ArgsModel))]
[JsonSerializable(typeof(ExportVmS3ArgsModel))]
[JsonSerializable(typeof(ErrorModel))]
[JsonSerializable(typeof(EmulatorApi.FaultUpdate))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(string))]
internal sealed partial class EmulatorJsonContext : JsonSerializerContext;
