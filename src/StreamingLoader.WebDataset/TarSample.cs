using System.Text;

namespace StreamingLoader.WebDataset;

/// <summary>
/// One sample of a WebDataset tar shard: the members that share a key (<c>n01440764_10026.jpg</c>,
/// <c>n01440764_10026.cls</c>...), by extension (what follows the first dot of the member's file name, lower case).
/// </summary>
public sealed class TarSample
{
    private readonly Dictionary<string, ReadOnlyMemory<byte>> _members;

    internal TarSample(string shard, string key, Dictionary<string, ReadOnlyMemory<byte>> members, Exception? error = null)
    {
        Shard = shard;
        Key = key;
        _members = members;
        Error = error;
    }

    /// <summary>Gets the address of the shard the sample came from (a path, an <c>s3://</c> or <c>http(s)://</c> address).</summary>
    public string Shard { get; }

    /// <summary>Gets the sample's key: the members' path in the tar without their extension.</summary>
    public string Key { get; }

    /// <summary>Gets the extensions of the sample's members ("jpg", "cls", "json", "seg.png"...).</summary>
    public IReadOnlyCollection<string> Extensions => _members.Keys;

    /// <summary>Gets the error that ended the shard at this member (a truncated or corrupted tar), or null.</summary>
    internal Exception? Error { get; }

    /// <summary>The bytes of the member with extension <paramref name="extension"/>.</summary>
    /// <exception cref="KeyNotFoundException">The sample has no such member; the message names the sample and its members.</exception>
    public ReadOnlyMemory<byte> Bytes(string extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        return TryGetBytes(extension, out var bytes)
            ? bytes
            : throw new KeyNotFoundException($"The sample '{Key}' of {Shard} has no .{extension} member (it has: {string.Join(", ", Extensions.Order(StringComparer.Ordinal))}).");
    }

    /// <summary>The bytes of the member with extension <paramref name="extension"/>, if the sample has one.</summary>
    public bool TryGetBytes(string extension, out ReadOnlyMemory<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(extension);
        return _members.TryGetValue(extension.TrimStart('.').ToLowerInvariant(), out bytes);
    }

    /// <summary>The member with extension <paramref name="extension"/> as UTF-8 text (a .cls, .txt or .json member).</summary>
    /// <exception cref="KeyNotFoundException">The sample has no such member.</exception>
    public string Text(string extension) => Encoding.UTF8.GetString(Bytes(extension).Span);

    /// <inheritdoc/>
    public override string ToString() => $"{Shard}: {Key} ({string.Join(", ", Extensions.Order(StringComparer.Ordinal))})";
}
