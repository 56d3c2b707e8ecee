using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>The operating system family (<c>os_type</c>) of a VM or image. Values are the swagger's exact strings; a value this SDK does not know still reads as itself.</summary>
[JsonConverter(typeof(StringEnumJsonConverter<OsType>))]
public readonly struct OsType : IEquatable<OsType>, IFormattable, IStringEnum<OsType>
{
    private readonly string? _value;

    /// <summary>Creates a value from its wire string (known or not).</summary>
    /// <param name="value">The exact string the API uses.</param>
    public OsType(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary><c>Linux</c>.</summary>
    public static OsType Linux { get; } = new("Linux");

    /// <summary><c>Windows</c>.</summary>
    public static OsType Windows { get; } = new("Windows");

    /// <summary><c>Unix</c>.</summary>
    public static OsType Unix { get; } = new("Unix");

    /// <summary><c>Bsd</c>.</summary>
    public static OsType Bsd { get; } = new("BSD");

    /// <summary><c>Darwin</c>.</summary>
    public static OsType Darwin { get; } = new("Darwin");

    /// <summary><c>Other</c>.</summary>
    public static OsType Other { get; } = new("Other");

    /// <summary>Every value the swagger lists, in its order.</summary>
    public static IReadOnlyList<OsType> Known { get; } = [Linux, Windows, Unix, Bsd, Darwin, Other];

    /// <summary>The exact string the API uses.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether the swagger lists this value.</summary>
    public bool IsKnown => Known.Contains(this);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator ==(OsType left, OsType right) => left.Equals(right);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator !=(OsType left, OsType right) => !left.Equals(right);

    static OsType IStringEnum<OsType>.FromValue(string value) => new(value);

    /// <inheritdoc/>
    public bool Equals(OsType other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is OsType other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>The wire string.</summary>
    public override string ToString() => Value;

    /// <summary>The wire string (format and provider do not apply).</summary>
    /// <param name="format">Ignored.</param>
    /// <param name="formatProvider">Ignored.</param>
    /// <returns>The wire string.</returns>
    public string ToString(string? format, IFormatProvider? formatProvider) => Value;
}
