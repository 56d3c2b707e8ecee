namespace Whitesky.Emulator.Storage;

/// <summary>How <see cref="S3rverServer"/> runs s3rver.</summary>
public sealed record S3rverOptions
{
    /// <summary>s3rver's <c>bin/s3rver.js</c>; default <c>WHITESKY_S3RVER</c>, else <c>.peers/node_modules/s3rver/bin/s3rver.js</c> in the current folder or any folder above it (or above the program).</summary>
    public string? ScriptPath { get; init; }

    /// <summary>The node executable; default <c>node</c> on the PATH.</summary>
    public string NodePath { get; init; } = "node";

    /// <summary>Buckets made at start. Default one, <c>imports</c>.</summary>
    public IReadOnlyList<string> Buckets { get; init; } = ["imports"];

    /// <summary>Port on 127.0.0.1; 0 (the default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Where objects are kept; null: a temporary folder removed on dispose.</summary>
    public string? DataDirectory { get; init; }
}
