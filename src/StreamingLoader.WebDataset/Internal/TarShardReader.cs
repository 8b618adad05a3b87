using System.Formats.Tar;

namespace StreamingLoader.WebDataset.Internal;

/// <summary>
/// Reads the samples of one tar shard in order with <see cref="TarReader"/>: consecutive members that share a key
/// (their path up to the first dot of the file name) make one sample. A truncated or corrupted tar ends the shard
/// with one failed sample whose error names the shard, the member and its byte offset; the group it interrupted is
/// dropped (it may be missing members), the one before it kept.
/// </summary>
internal static class TarShardReader
{
    public static IEnumerable<TarSample> Read(Stream stream, string shard)
    {
        using var reader = new TarReader(stream, leaveOpen: true);
        string? key = null;
        var members = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        string? last = null;
        while (true)
        {
            // Headers start on 512-byte blocks; the previous member's padding may lie before this one.
            var at = (stream.Position + 511) & ~511L;
            var (name, bytes, error) = Next(reader, stream, shard, last, at);
            if (error is not null)
            {
                // The group before a member of another key is whole; a group cut by a bad header may not be.
                var failedKey = name is null ? key ?? "(start)" : KeyOf(name).Key;
                if (key is not null && failedKey != key && members.Count > 0)
                {
                    yield return new TarSample(shard, key, members);
                }

                yield return new TarSample(shard, failedKey, [], error);
                yield break;
            }

            if (name is null)
            {
                if (key is not null && members.Count > 0)
                {
                    yield return new TarSample(shard, key, members);
                }

                yield break;
            }

            last = name;
            if (bytes is null)
            {
                continue;
            }

            var (memberKey, extension) = KeyOf(name);
            if (key is not null && memberKey != key && members.Count > 0)
            {
                yield return new TarSample(shard, key, members);
                members = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
            }

            key = memberKey;
            if (!members.TryAdd(extension, bytes))
            {
                yield return new TarSample(shard, memberKey, [], new InvalidDataException($"The shard {shard}, member '{name}' (byte {at:N0}): the sample '{memberKey}' has two .{extension} members."));
                yield break;
            }
        }
    }

    /// <summary>
    /// Checks the checksum of the header block at <paramref name="at"/> (TarReader does not): the sum of its bytes, the
    /// checksum field counted as spaces, must be the octal number in that field. An all-zero block (the end) passes.
    /// </summary>
    private static void CheckHeader(Stream stream, long at)
    {
        var position = stream.Position;
        stream.Position = at;
        Span<byte> block = stackalloc byte[512];
        var read = stream.ReadAtLeast(block, block.Length, throwOnEndOfStream: false);
        stream.Position = position;
        if (read < block.Length || !block.ContainsAnyExcept((byte)0))
        {
            return;
        }

        var sum = 0L;
        for (var i = 0; i < block.Length; i++)
        {
            sum += i is >= 148 and < 156 ? ' ' : block[i];
        }

        var field = System.Text.Encoding.ASCII.GetString(block[148..156]).Trim(' ', '\0');
        long declared;
        try
        {
            declared = field.Length == 0 ? -1 : Convert.ToInt64(field, 8);
        }
        catch (FormatException)
        {
            declared = -1;
        }

        if (declared != sum)
        {
            throw new InvalidDataException($"the header's checksum field says '{field}', its bytes sum to {Convert.ToString(sum, 8)} (octal): the header is corrupted.");
        }
    }

    /// <summary>The key and extension of a member: "train/n0144_10026.seg.png" is key "train/n0144_10026", extension "seg.png".</summary>
    internal static (string Key, string Extension) KeyOf(string name)
    {
        var slash = name.LastIndexOf('/');
        var dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? (name, "") : (name[..dot], name[(dot + 1)..].ToLowerInvariant());
    }

    /// <summary>
    /// The next member: its name and bytes (null bytes for a directory or a link, which are skipped), or a null name at
    /// the end of the archive, or the error that stops the shard.
    /// </summary>
    private static (string? Name, byte[]? Bytes, Exception? Error) Next(TarReader reader, Stream stream, string shard, string? last, long at)
    {
        TarEntry? entry;
        try
        {
            CheckHeader(stream, at);
            entry = reader.GetNextEntry(copyData: false);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or IOException or ArgumentException)
        {
            var where = last is null ? "its first header" : $"the header after member '{last}'";
            return (null, null, new InvalidDataException($"The shard {shard} is not a readable tar at {where} (byte {at:N0}): {ex.Message}", ex));
        }

        if (entry is null)
        {
            return (null, null, null);
        }

        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
        {
            // Skipped, but read through, so the next header lies on the next block.
            entry.DataStream?.CopyTo(Stream.Null);
            return (entry.Name, null, null);
        }

        if (entry.Length > Array.MaxLength)
        {
            return (entry.Name, null, new InvalidDataException($"The shard {shard}, member '{entry.Name}' (byte {at:N0}): {entry.Length:N0} bytes is too large for one sample member."));
        }

        var bytes = new byte[entry.Length];
        try
        {
            entry.DataStream?.ReadExactly(bytes);
            if (entry.DataStream is null && bytes.Length > 0)
            {
                throw new EndOfStreamException("the member has no data.");
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or InvalidDataException)
        {
            return (entry.Name, null, new InvalidDataException($"The shard {shard}, member '{entry.Name}' (byte {at:N0}) is truncated: its header declares {entry.Length:N0} bytes. {ex.Message}", ex));
        }

        return (entry.Name, bytes, null);
    }
}
