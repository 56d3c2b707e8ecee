using System.Text.Json.Serialization;

namespace Whitesky.Api.Models;

/// <summary>The role of a disk (<c>disk_type</c>). Values are the swagger's exact strings; a value this SDK does not know still reads as itself.</summary>
[JsonConverter(typeof(StringEnumJsonConverter<DiskType>))]
public readonly struct DiskType : IEquatable<DiskType>, IFormattable, IStringEnum<DiskType>
{
    private readonly string? _value;

    /// <summary>Creates a value from its wire string (known or not).</summary>
    /// <param name="value">The exact string the API uses.</param>
    public DiskType(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary><c>Data</c>.</summary>
    public static DiskType Data { get; } = new("DATA");

    /// <summary><c>Boot</c>.</summary>
    public static DiskType Boot { get; } = new("BOOT");

    /// <summary><c>Physical</c>.</summary>
    public static DiskType Physical { get; } = new("PHYSICAL");

    /// <summary>Every value the swagger lists, in its order.</summary>
    public static IReadOnlyList<DiskType> Known { get; } = [Data, Boot, Physical];

    /// <summary>The exact string the API uses.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether the swagger lists this value.</summary>
    public bool IsKnown => Known.Contains(this);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator ==(DiskType left, DiskType right) => left.Equals(right);

    /// <summary>Compares two values by their wire string (ordinal).</summary>
    public static bool operator !=(DiskType left, DiskType right) => !left.Equals(right);

    static DiskType IStringEnum<DiskType>.FromValue(string value) => new(value);

    /// <inheritdoc/>
    public bool Equals(DiskType other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DiskType other && Equals(other);

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
