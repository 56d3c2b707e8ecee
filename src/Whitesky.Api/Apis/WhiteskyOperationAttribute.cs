namespace Whitesky.Api.Apis;

/// <summary>The swagger <c>operationId</c> a Refit method calls; errors and the contract test name it.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
internal sealed class WhiteskyOperationAttribute(string operationId) : Attribute
{
    public string OperationId { get; } = operationId;
}
