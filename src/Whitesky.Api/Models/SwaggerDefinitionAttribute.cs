namespace Whitesky.Api.Models;

/// <summary>Names the swagger definition a model mirrors; the contract test checks every property against it.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
internal sealed class SwaggerDefinitionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
