using System.Reflection;
using System.Text.Json.Serialization;
using Refit;
using Whitesky.Api.Apis;
using Whitesky.Api.Models;

namespace Whitesky.Api.Tests.Contract;

/// <summary>The client uses only routes, parameters and properties the platform's swagger has, and covers every listed operation.</summary>
public sealed class SwaggerContractTests
{
    private static readonly SwaggerDocument Swagger = SwaggerDocument.Load();

    public static TheoryData<string> Interfaces() => new(WhiteskyOperations.Interfaces.Select(t => t.Name));

    public static TheoryData<string> Models() => new(ModelTypes().Select(t => t.Name));

    [Fact]
    public void Every_operation_the_readme_lists_has_exactly_one_refit_method()
    {
        var listed = Swagger.ListedOperationIds();
        var implemented = WhiteskyOperations.Interfaces
            .SelectMany(i => i.GetMethods())
            .Select(m => m.GetCustomAttribute<WhiteskyOperationAttribute>()!.OperationId)
            .ToList();

        Assert.Equal(34, listed.Count);
        Assert.Equal(listed.Order(StringComparer.Ordinal), implemented.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Interfaces))]
    public void Refit_interface_uses_only_what_the_swagger_has(string interfaceName)
    {
        var api = WhiteskyOperations.Interfaces.Single(t => t.Name == interfaceName);
        var problems = ContractChecker.CheckInterface(api, Swagger);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Model_properties_match_the_swagger_definition(string modelName)
    {
        var model = ModelTypes().Single(t => t.Name == modelName);
        var problems = ContractChecker.CheckModel(model, Swagger);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_model_the_interfaces_read_or_write_mirrors_a_swagger_definition()
    {
        var reachable = new HashSet<Type>();
        var pending = new Queue<Type>(WhiteskyOperations.Interfaces
            .SelectMany(i => i.GetMethods())
            .SelectMany(m => m.GetParameters().Where(p => p.GetCustomAttribute<BodyAttribute>() is not null).Select(p => p.ParameterType).Append(m.ReturnType)));
        while (pending.TryDequeue(out var type))
        {
            foreach (var inner in type.IsGenericType ? type.GetGenericArguments() : [type])
            {
                if (inner.Namespace == typeof(DiskInfo).Namespace && inner.IsClass && reachable.Add(inner))
                {
                    foreach (var property in inner.GetProperties())
                    {
                        pending.Enqueue(property.PropertyType);
                    }
                }
                else if (inner.IsGenericType)
                {
                    pending.Enqueue(inner);
                }
            }
        }

        Assert.Equal(44, reachable.Count);
        Assert.All(reachable, t => Assert.NotNull(t.GetCustomAttribute<SwaggerDefinitionAttribute>()));
        Assert.Equal(reachable.OrderBy(t => t.Name), ModelTypes().OrderBy(t => t.Name));
    }

    [Fact]
    public void The_checker_catches_an_invented_route_parameter_and_property()
    {
        var problems = ContractChecker.CheckInterface(typeof(IInventedApi), Swagger);
        var all = string.Join(Environment.NewLine, problems);

        Assert.True(problems.Any(p => p.Contains("/customers/{customer_id}/teleport", StringComparison.Ordinal) && p.Contains("not in the swagger", StringComparison.Ordinal)), all);
        Assert.True(problems.Any(p => p.Contains("no parameter 'turbo'", StringComparison.Ordinal)), all);
        Assert.True(problems.Any(p => p.Contains("'disk_size' required in C# is False", StringComparison.Ordinal)), all);
        Assert.True(problems.Any(p => p.Contains("requires 'description'", StringComparison.Ordinal)), all);
        Assert.True(problems.Any(p => p.Contains("operation id 'makeDisk'", StringComparison.Ordinal)), all);
        Assert.True(problems.Any(p => p.Contains("no parameter 'disk'", StringComparison.Ordinal)), all);

        var modelProblems = ContractChecker.CheckModel(typeof(InventedDiskId), Swagger);
        Assert.Contains(modelProblems, p => p.Contains("no property 'disk_uuid'", StringComparison.Ordinal));
        Assert.Contains(modelProblems, p => p.Contains("'DiskIdModel.disk_id' has no C# property", StringComparison.Ordinal));
    }

    private static List<Type> ModelTypes() =>
        typeof(WhiteskyClient).Assembly.GetTypes().Where(t => t.GetCustomAttribute<SwaggerDefinitionAttribute>() is not null).ToList();

    // Deliberately wrong: every member invents something the swagger does not have.
    public interface IInventedApi
    {
        [Get("/customers/{customer_id}/teleport")]
        [WhiteskyOperation("teleport")]
        Task<SuccessResult> TeleportAsync([AliasAs("customer_id")] string customerId, CancellationToken cancellationToken = default);

        [Post("/customers/{customer_id}/locations/{location}/disks")]
        [WhiteskyOperation("makeDisk")]
        Task<DiskIdResult> CreateDiskAsync(
            [AliasAs("customer_id")] string customerId,
            [AliasAs("location")] string location,
            [AliasAs("disk_name")] string diskName,
            [AliasAs("disk_size")] long? diskSize,
            [AliasAs("turbo")] bool? turbo = null,
            CancellationToken cancellationToken = default);

        [Get("/customers/{customer_id}/locations/{location}/disks/{disk_id}")]
        [WhiteskyOperation("getDiskInfo")]
        Task<DiskInfo> GetDiskAsync([AliasAs("customer_id")] string customerId, [AliasAs("location")] string location, [AliasAs("disk")] long diskId, [AliasAs("disk_id")] long? other = null);
    }

    [SwaggerDefinition("DiskIdModel")]
    public sealed record InventedDiskId
    {
        [JsonPropertyName("disk_uuid")]
        public string? DiskUuid { get; init; }
    }
}
