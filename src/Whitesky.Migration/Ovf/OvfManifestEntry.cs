namespace Whitesky.Migration.Ovf;

/// <summary>A digest of one file in an OVF manifest.</summary>
/// <param name="Algorithm">The algorithm: <c>SHA1</c>, <c>SHA256</c> or <c>SHA512</c>.</param>
/// <param name="FileName">The file the line names (checked not to leave the package).</param>
/// <param name="Digest">The expected digest, lower-case hex.</param>
public sealed record OvfManifestEntry(string Algorithm, string FileName, string Digest);
