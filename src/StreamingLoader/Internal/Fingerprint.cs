namespace StreamingLoader.Internal;

/// <summary>A hash of a file's first <see cref="Length"/> bytes; replaced whole, so readers never see half of one.</summary>
internal sealed record Fingerprint(int Length, ulong Hash);
