namespace Whitesky.Api.Models;

/// <summary>
/// A string-valued enumeration of the swagger: known values are static members, and any other string the
/// platform sends still reads (and prints) as itself instead of failing deserialization.
/// </summary>
internal interface IStringEnum<TSelf> where TSelf : struct, IStringEnum<TSelf>
{
    static abstract TSelf FromValue(string value);

    string Value { get; }
}
