using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>How a VM boots (<c>boot_type</c>). Values are the swagger's exact strings; a value this SDK does not know still reads as itself.</summary>
[JsonConverter(typeof(StringEnumJsonConverter<BootType>))]
public readonly struct BootType : IEquatable<BootType>, IFormattable, IStringEnum<BootType>
{
    private readonly string? _value;

    /// <summary>Creates a value from its wire string (known or not).</summary>
    /// <param name="value">The exact string the API uses.</param>
    public BootType(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary><c>bios</c>.</summary>
    public static BootType Bios { get; } = new("bios");

    /// <summary><c>uefi</c>.</summary>
    public static BootType Uefi { get; } = new("uefi");

    /// <summary><c>uefi-secure-boot</c>.</summary>
    public static BootType UefiSecureBoot { get; } = new("uefi-secure-boot");

    /// <summary>Every value the swagger lists, in its order.</summary>
    public static IReadOnlyList<BootType> Known { get; } = [Bios, Uefi, UefiSecureBoot];

    /// <summary>The exact string the API uses.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether the swagger lists this value.</summary>
    public bool IsKnown => Known.Contains(this);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator ==(BootType left, BootType right) => left.Equals(right);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator !=(BootType left, BootType right) => !left.Equals(right);

    static BootType IStringEnum<BootType>.FromValue(string value) => new(value);

    /// <inheritdoc/>
    public bool Equals(BootType other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BootType other && Equals(other);

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
