using System.Globalization;
using System.Reflection;
using Refit;

namespace Whitesky.Api;

/// <summary>Formats path and query values the way the platform reads them: lowercase booleans, invariant numbers, enum wire strings.</summary>
internal sealed class WhiteskyUrlParameterFormatter : IUrlParameterFormatter
{
    public string? Format(object? value, ICustomAttributeProvider attributeProvider, Type type) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
