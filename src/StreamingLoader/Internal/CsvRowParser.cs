using System.Globalization;
using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>
/// Splits one CSV record and parses the chosen fields into a feature slot and a label. The column map holds, per
/// column, the feature index it fills, <see cref="Label"/>, or <see cref="Unused"/>.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly ref struct CsvRowParser(byte delimiter, int[] map)
{
    public const int Unused = -1;
    public const int Label = -2;
    private const byte Quote = (byte)'"';

    /// <summary>The map for columns given as features then the label, by index.</summary>
    public static int[] ColumnMap(int[] indices)
    {
        var map = new int[indices.Max() + 1];
        map.AsSpan().Fill(Unused);
        for (var i = 0; i < indices.Length - 1; i++)
        {
            map[indices[i]] = i;
        }

        map[indices[^1]] = Label;
        return map;
    }

    public static string[] SplitHeader(ReadOnlySpan<byte> header, byte delimiter)
    {
        var names = new List<string>();
        var position = 0;
        while (true)
        {
            var field = NextField(header, ref position, delimiter, out _);
            names.Add(Decode(field).Trim());
            if (position > header.Length)
            {
                return [.. names];
            }
        }
    }

    public void Parse(ReadOnlySpan<byte> line, Span<float> destination, out long label)
    {
        label = 0;
        var position = 0;
        var column = 0;
        while (column < map.Length)
        {
            if (position > line.Length)
            {
                throw new FormatException($"the row has {column} columns; expected at least {map.Length}");
            }

            var target = map[column];
            double value;
            if (target == Unused)
            {
                _ = NextField(line, ref position, delimiter, out _);
                column++;
                continue;
            }

            if (!TryParseInPlace(line, ref position, out value))
            {
                var field = NextField(line, ref position, delimiter, out var escaped);
                if (escaped)
                {
                    throw new FormatException($"column {column + 1}: a number cannot hold a quote");
                }

                value = ParseNumber(field, column);
            }

            if (target == Label)
            {
                if (value != Math.Floor(value) || value is < long.MinValue or > long.MaxValue)
                {
                    throw new FormatException($"column {column + 1}: the label \"{Decode(Field(line, position))}\" is not an integer");
                }

                label = (long)value;
            }
            else
            {
                destination[target] = (float)value;
            }

            column++;
        }
    }

    /// <summary>
    /// The common case, parsed where it stands without looking for the delimiter first: an unquoted number followed
    /// by the delimiter or the end of the line. Anything else (quotes, NaN, a malformed field) is left to the
    /// general path, which starts again at the same position.
    /// </summary>
    private bool TryParseInPlace(ReadOnlySpan<byte> line, ref int position, out double value)
    {
        value = 0;
        var rest = line[position..];
        if (rest.IsEmpty || rest[0] is (byte)'"' or (byte)'N' or (byte)'n' or (byte)'I' or (byte)'i' or (byte)'+' or (byte)'.')
        {
            return false;
        }

        var parser = new JsonLineParser(rest);
        try
        {
            value = parser.ReadSingle();
        }
        catch (FormatException)
        {
            return false;
        }

        var end = parser.Position;
        while (end < rest.Length && rest[end] is (byte)' ' or (byte)'\t')
        {
            end++;
        }

        if (end == rest.Length)
        {
            position = line.Length + 1;
            return true;
        }

        if (rest[end] != delimiter)
        {
            return false;
        }

        position += end + 1;
        return true;
    }

    /// <summary>The text of the field that ended just before <paramref name="next"/>, for error messages.</summary>
    private ReadOnlySpan<byte> Field(ReadOnlySpan<byte> line, int next)
    {
        var end = Math.Min(next - 1, line.Length);
        var start = line[..end].LastIndexOf(delimiter) + 1;
        return line[start..end].Trim((byte)'"');
    }

    /// <summary>
    /// Returns the field at <paramref name="position"/> (quotes removed) and moves past its delimiter; past the end
    /// of the line (position &gt; length) after the last field.
    /// </summary>
    private static ReadOnlySpan<byte> NextField(ReadOnlySpan<byte> line, ref int position, byte delimiter, out bool escaped)
    {
        escaped = false;
        var rest = line[position..];
        if (rest.Length > 0 && rest[0] == Quote)
        {
            var end = 1;
            while (true)
            {
                var quote = rest[end..].IndexOf(Quote);
                if (quote < 0)
                {
                    throw new FormatException($"byte {position + 1}: a quoted field is not closed");
                }

                end += quote;
                if (end + 1 < rest.Length && rest[end + 1] == Quote)
                {
                    escaped = true;
                    end += 2;
                    continue;
                }

                break;
            }

            var after = end + 1;
            if (after < rest.Length && rest[after] != delimiter)
            {
                throw new FormatException($"byte {position + after + 1}: text after a closing quote");
            }

            var quoted = rest[1..end];
            position += after + 1;
            return quoted;
        }

        var length = rest.IndexOf(delimiter);
        if (length < 0)
        {
            position = line.Length + 1;
            return rest;
        }

        position += length + 1;
        return rest[..length];
    }

    private static double ParseNumber(ReadOnlySpan<byte> field, int column)
    {
        try
        {
            var parser = new JsonLineParser(field);
            var value = parser.ReadSingle();
            parser.ExpectEnd();
            return value;
        }
        catch (FormatException)
        {
            // Forms JSON has no room for (NaN, Infinity, +1, .5) take the slower general parser.
            if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            throw new FormatException(field.IsEmpty ? $"column {column + 1} is empty" : $"column {column + 1}: \"{Decode(field)}\" is not a number");
        }
    }

    private static string Decode(ReadOnlySpan<byte> utf8) => System.Text.Encoding.UTF8.GetString(utf8);
}
