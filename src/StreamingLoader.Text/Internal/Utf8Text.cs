using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace StreamingLoader.Text.Internal;

/// <summary>UTF-8 checks and repairs, and JSON string unescaping, into caller buffers.</summary>
internal static class Utf8Text
{
    /// <summary>U+FFFD in UTF-8.</summary>
    private static ReadOnlySpan<byte> Replacement => [0xEF, 0xBF, 0xBD];

    /// <summary>The offset of the first invalid sequence in <paramref name="text"/>, or -1 when it is all valid.</summary>
    public static int FirstInvalid(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text))
        {
            return -1;
        }

        var offset = 0;
        while (Rune.DecodeFromUtf8(text[offset..], out _, out var consumed) == OperationStatus.Done)
        {
            offset += consumed;
        }

        return offset;
    }

    /// <summary>
    /// Copies <paramref name="text"/> into <paramref name="destination"/> (at least 3 bytes per source byte) with each
    /// maximal invalid subsequence replaced by U+FFFD (the WHATWG decoder's rule); returns the bytes written.
    /// </summary>
    public static int Repair(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        var written = 0;
        while (!text.IsEmpty)
        {
            var valid = FirstInvalid(text);
            if (valid < 0)
            {
                valid = text.Length;
            }

            text[..valid].CopyTo(destination[written..]);
            written += valid;
            text = text[valid..];
            if (!text.IsEmpty)
            {
                Rune.DecodeFromUtf8(text, out _, out var consumed);
                Replacement.CopyTo(destination[written..]);
                written += Replacement.Length;
                text = text[consumed..];
            }
        }

        return written;
    }

    /// <summary>
    /// Unescapes the raw content of a JSON string (between its quotes; its escapes already checked by the reader) into
    /// UTF-8 in <paramref name="destination"/>, at least 3 bytes per source byte. Invalid UTF-8 and lone surrogates
    /// (<c>\uD800</c> unpaired) become U+FFFD when <paramref name="replace"/> is set; otherwise the first stops the
    /// copy: the method returns -1 with its offset in <paramref name="invalidAt"/>.
    /// </summary>
    public static int UnescapeJson(ReadOnlySpan<byte> raw, Span<byte> destination, bool replace, out int invalidAt)
    {
        invalidAt = -1;
        var written = 0;
        var i = 0;
        while (i < raw.Length)
        {
            var backslash = raw[i..].IndexOf((byte)'\\');
            var segment = backslash < 0 ? raw[i..] : raw.Slice(i, backslash);
            if (!CopySegment(segment, destination, ref written, replace, out var bad))
            {
                invalidAt = i + bad;
                return -1;
            }

            i += segment.Length;
            if (backslash < 0)
            {
                break;
            }

            var escape = raw[i + 1];
            if (escape != (byte)'u')
            {
                destination[written++] = escape switch
                {
                    (byte)'b' => (byte)'\b',
                    (byte)'f' => (byte)'\f',
                    (byte)'n' => (byte)'\n',
                    (byte)'r' => (byte)'\r',
                    (byte)'t' => (byte)'\t',
                    _ => escape, // \" \\ \/
                };
                i += 2;
                continue;
            }

            var unit = Hex4(raw.Slice(i + 2, 4));
            var length = 6;
            int scalar = unit;
            if (char.IsHighSurrogate((char)unit) && i + 12 <= raw.Length && raw[i + 6] == (byte)'\\' && raw[i + 7] == (byte)'u'
                && Hex4(raw.Slice(i + 8, 4)) is var low && char.IsLowSurrogate((char)low))
            {
                scalar = char.ConvertToUtf32((char)unit, (char)low);
                length = 12;
            }
            else if (char.IsSurrogate((char)unit))
            {
                if (!replace)
                {
                    invalidAt = i;
                    return -1;
                }

                scalar = Rune.ReplacementChar.Value;
            }

            written += new Rune(scalar).EncodeToUtf8(destination[written..]);
            i += length;
        }

        return written;
    }

    private static bool CopySegment(ReadOnlySpan<byte> segment, Span<byte> destination, ref int written, bool replace, out int invalidAt)
    {
        invalidAt = FirstInvalid(segment);
        if (invalidAt < 0)
        {
            segment.CopyTo(destination[written..]);
            written += segment.Length;
            return true;
        }

        if (!replace)
        {
            return false;
        }

        written += Repair(segment, destination[written..]);
        return true;
    }

    private static int Hex4(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var d in digits)
        {
            value = (value << 4) | (d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
        }

        return value;
    }
}
