using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Cli;

/// <summary>
/// Pre-tokenized JSON Lines, <c>{"ids":[int, ...],"y":int}</c>, parsed straight into a padded batch:
/// <c>input_ids</c> Int64 [n, L] padded on the right with 0 to the batch's longest (<c>pad_sequence</c>'s default),
/// its <c>attention_mask</c>, and <c>labels</c> Int64 [n]. Measuring a line counts the commas of its id array (a
/// vectorized count); writing parses the ids once, straight into the sample's row of the batch, eight bytes at a
/// time: nothing is allocated per sample, whatever its length.
/// </summary>
/// <remarks>
/// A line that is not of that form (no <c>"ids"</c> array, a value that is not an integer, no integer <c>"y"</c>)
/// is rejected with its file and line. It is the benchmark's reader for this one format, not a JSON parser: keys are
/// found by their text.
/// </remarks>
internal sealed class TokenIdsCollator : Collator<TextLine>
{
    private readonly BatchLayout _layout;
    private readonly int _ids;
    private readonly int _labels;

    public TokenIdsCollator()
    {
        _layout = new BatchLayout(
            new TensorSpec("input_ids", ElementType.Int64, [TensorSpec.Variable]) { MaskName = "attention_mask" },
            new TensorSpec("labels", ElementType.Int64, []));
        (_ids, _labels) = (_layout.IndexOf("input_ids"), _layout.IndexOf("labels"));
    }

    public override BatchLayout GetLayout(TextLine firstSample) => _layout;

    public override void MeasureLengths(in TextLine sample, Span<int> lengths)
    {
        var array = IdArray(sample);
        lengths[0] = array.Trim(" \t"u8).IsEmpty ? 0 : array.Count((byte)',') + 1;
    }

    public override void Write(in TextLine sample, int slot, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);

        // The row is the batch's padded length, at least the count measured; the loader writes the mask from that count.
        var row = batch.Tensors[_ids].Sample<long>(slot);
        var count = ParseIds(ArrayStart(sample), row, sample);
        row[count..].Clear();
        var label = Value(sample.Utf8.Span, "\"y\""u8, sample);
        batch.Tensors[_labels].AsSpan<long>()[slot] = ParseInteger(ref label, sample, "the \"y\" label");
    }

    /// <summary>The line from just after the <c>[</c> of its <c>"ids"</c> array.</summary>
    private static ReadOnlySpan<byte> ArrayStart(in TextLine line)
    {
        var value = Value(line.Utf8.Span, "\"ids\""u8, line);
        return !value.IsEmpty && value[0] == (byte)'[' ? value[1..] : throw Bad(line, "\"ids\" is not an array");
    }

    /// <summary>The text between the brackets of the line's <c>"ids"</c> array.</summary>
    private static ReadOnlySpan<byte> IdArray(in TextLine line)
    {
        var array = ArrayStart(line);
        var end = array.IndexOf((byte)']');
        return end < 0 ? throw Bad(line, "the \"ids\" array is not closed") : array[..end];
    }

    /// <summary>
    /// Parses the ids of an array (<paramref name="text"/> starts after its <c>[</c>) into <paramref name="row"/>: a tight
    /// loop for the common form (digits, commas, the closing bracket), eight bytes at a time; from the first other
    /// byte (spaces, minus signs, errors) the careful parse of the whole array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ParseIds(ReadOnlySpan<byte> text, Span<long> row, in TextLine line)
    {
        ref var start = ref MemoryMarshal.GetReference(text);
        var length = text.Length;
        var count = 0;
        var i = 0;

        // Eight bytes at a time while eight remain: the run of digits found and converted with SWAR arithmetic
        // (Lemire's eight-digit parse), no multiply chain per digit.
        while (i + sizeof(ulong) <= length && count < row.Length)
        {
            var chunk = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            var digits = DigitRun(chunk);
            if (digits is 0 or 8)
            {
                break;
            }

            var next = Unsafe.Add(ref start, i + digits);
            if (next is not (byte)',' and not (byte)']')
            {
                break;
            }

            row[count++] = EightDigits((chunk - 0x3030303030303030UL) << ((8 - digits) * 8));
            if (next == (byte)']')
            {
                return count;
            }

            i += digits + 1;
        }

        // The array's last ids, or an unusual one: all of it again, the careful way.
        return ParseIdsCarefully(IdArray(line), row, line);
    }

    /// <summary>How many of the eight bytes (the first in the lowest) are ASCII digits before the first that is not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DigitRun(ulong chunk)
    {
        // A byte is a digit when its high nibble is 3 and adding 6 keeps it 3 (0x30-0x39); JSON text is ASCII here,
        // and a byte of 0x80 or more is not a digit either way.
        var high = (chunk & 0xF0F0F0F0F0F0F0F0UL) | (((chunk + 0x0606060606060606UL) & 0xF0F0F0F0F0F0F0F0UL) >> 4);
        var other = high ^ 0x3333333333333333UL;
        return other == 0 ? 8 : System.Numerics.BitOperations.TrailingZeroCount(other) >> 3;
    }

    /// <summary>The value of eight digit values 0-9, the most significant in the lowest byte (leading zeros allowed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long EightDigits(ulong digits)
    {
        digits = ((digits & 0x0F0F0F0F0F0F0F0FUL) * 2561) >> 8;
        digits = ((digits & 0x00FF00FF00FF00FFUL) * 6553601) >> 16;
        return (long)(((digits & 0x0000FFFF0000FFFFUL) * 42949672960001) >> 32);
    }

    /// <summary>Parses an id array with spaces and signs, or reports what is wrong with it.</summary>
    private static int ParseIdsCarefully(ReadOnlySpan<byte> array, Span<long> row, in TextLine line)
    {
        var count = 0;
        long value = 0;
        var digits = 0;
        var negative = false;
        var ended = false; // whitespace after a number's digits: only a comma may follow
        foreach (var c in array)
        {
            var digit = (uint)(c - '0');
            if (digit <= 9)
            {
                if (ended || ++digits > 18)
                {
                    throw Bad(line, "an id is not an integer of at most 18 digits");
                }

                value = (value * 10) + digit;
                continue;
            }

            switch (c)
            {
                case (byte)',':
                    if (digits == 0)
                    {
                        throw Bad(line, "the \"ids\" array has an empty element");
                    }

                    Store(row, ref count, negative ? -value : value, line);
                    (value, digits, negative, ended) = (0, 0, false, false);
                    break;
                case (byte)' ' or (byte)'\t':
                    ended |= digits > 0 || negative;
                    break;
                case (byte)'-' when digits == 0 && !negative:
                    negative = true;
                    break;
                default:
                    throw Bad(line, "an id is not an integer");
            }
        }

        if (digits > 0)
        {
            Store(row, ref count, negative ? -value : value, line);
        }
        else if (count > 0 || negative)
        {
            throw Bad(line, "the \"ids\" array ends with a comma");
        }

        return count;
    }

    private static void Store(Span<long> row, ref int count, long value, in TextLine line)
    {
        if (count == row.Length)
        {
            throw Bad(line, "the \"ids\" array holds more ids than were measured");
        }

        row[count++] = value;
    }

    /// <summary>What follows <paramref name="key"/> and its colon.</summary>
    private static ReadOnlySpan<byte> Value(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key, in TextLine line)
    {
        var at = json.IndexOf(key);
        if (at < 0)
        {
            throw Bad(line, $"the object has no {System.Text.Encoding.UTF8.GetString(key)} field");
        }

        var rest = json[(at + key.Length)..].TrimStart(" \t"u8);
        return !rest.IsEmpty && rest[0] == (byte)':' ? rest[1..].TrimStart(" \t"u8) : throw Bad(line, $"{System.Text.Encoding.UTF8.GetString(key)} has no value");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ParseInteger(ref ReadOnlySpan<byte> text, in TextLine line, string what)
    {
        var negative = !text.IsEmpty && text[0] == (byte)'-';
        var i = negative ? 1 : 0;
        long value = 0;
        var start = i;
        for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++)
        {
            value = (value * 10) + (text[i] - '0');
        }

        if (i == start || i - start > 18)
        {
            throw Bad(line, $"{what} is not an integer of at most 18 digits");
        }

        text = text[i..];
        return negative ? -value : value;
    }

    private static InvalidDataException Bad(in TextLine line, string problem) => new($"{line.Path}:{line.LineNumber}: {problem} (expected {{\"ids\":[int, ...],\"y\":int}}).");
}
