using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace StreamingLoader;

/// <summary>
/// A forward-only reader for one JSON Lines object, fast on the shape training data has (flat objects of numbers
/// and number arrays); anything else is skipped with <see cref="Utf8JsonReader"/>. Errors are
/// <see cref="FormatException"/>s that give the column.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal ref struct JsonLineParser
{
    private static readonly double[] PowersOf10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
    private readonly ReadOnlySpan<byte> _text;
    private int _position;

    public JsonLineParser(ReadOnlySpan<byte> text)
    {
        _text = text;
        _position = 0;
    }

    /// <summary>Gets how many bytes have been read.</summary>
    public readonly int Position => _position;

    public void Expect(byte c)
    {
        SkipWhitespace();
        if (_position >= _text.Length || _text[_position] != c)
        {
            throw Error($"expected '{(char)c}'");
        }

        _position++;
    }

    public bool TryConsume(byte c)
    {
        SkipWhitespace();
        if (_position < _text.Length && _text[_position] == c)
        {
            _position++;
            return true;
        }

        return false;
    }

    public void ExpectEnd()
    {
        SkipWhitespace();
        if (_position != _text.Length)
        {
            throw Error("unexpected text after the object");
        }
    }

    /// <summary>Reads a string without escapes (keys); a key with escapes is compared unescaped-as-is.</summary>
    public ReadOnlySpan<byte> ReadString()
    {
        Expect((byte)'"');
        var start = _position;
        while (_position < _text.Length && _text[_position] != (byte)'"')
        {
            _position += _text[_position] == (byte)'\\' ? 2 : 1;
        }

        if (_position >= _text.Length)
        {
            throw Error("unterminated string");
        }

        return _text[start.._position++];
    }

    public void ReadFloatArray(Span<float> destination, string field)
    {
        Expect((byte)'[');
        var count = 0;
        if (!TryConsume((byte)']'))
        {
            do
            {
                var value = ReadDouble();
                if (count < destination.Length)
                {
                    destination[count] = (float)value;
                }

                count++;
            }
            while (TryConsume((byte)','));
            Expect((byte)']');
        }

        if (count != destination.Length)
        {
            throw Error($"\"{field}\" has {count} numbers; expected {destination.Length}");
        }
    }

    public long ReadInt64()
    {
        SkipWhitespace();
        var start = _position;
        var value = ReadDouble();
        if (value != Math.Floor(value) || value is < long.MinValue or > long.MaxValue)
        {
            _position = start;
            throw Error("expected an integer");
        }

        return (long)value;
    }

    /// <summary>
    /// Parses a JSON number. Up to 19 significant digits it scales the integer mantissa by an exact power of ten:
    /// correctly rounded to double when the mantissa is below 2^53 (Clinger's fast path), within one ulp otherwise,
    /// which is exact after rounding to float but for vanishingly rare ties. Longer numbers go to Utf8Parser.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double ReadDouble()
    {
        SkipWhitespace();
        var text = _text;
        var start = _position;
        var i = start;
        var negative = i < text.Length && text[i] == (byte)'-';
        if (negative)
        {
            i++;
        }

        ulong mantissa = 0;
        var digits = 0;
        var scale = 0;
        var intStart = i;
        while (i < text.Length && (uint)(text[i] - '0') <= 9)
        {
            mantissa = (mantissa * 10) + (uint)(text[i] - '0');
            digits += mantissa != 0 ? 1 : 0;
            i++;
        }

        if (i == intStart)
        {
            throw Error("expected a number");
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            var fracStart = i;
            while (i < text.Length && (uint)(text[i] - '0') <= 9)
            {
                mantissa = (mantissa * 10) + (uint)(text[i] - '0');
                digits += mantissa != 0 ? 1 : 0;
                i++;
            }

            if (i == fracStart)
            {
                throw Error("expected a digit after '.'");
            }

            scale = fracStart - i;
        }

        if (i < text.Length && (text[i] | 0x20) == (byte)'e')
        {
            i++;
            var expNegative = false;
            if (i < text.Length && (text[i] == (byte)'-' || text[i] == (byte)'+'))
            {
                expNegative = text[i] == (byte)'-';
                i++;
            }

            var exponent = 0;
            var expStart = i;
            while (i < text.Length && (uint)(text[i] - '0') <= 9)
            {
                exponent = Math.Min((exponent * 10) + (text[i] - '0'), 100_000);
                i++;
            }

            if (i == expStart)
            {
                throw Error("expected a digit in the exponent");
            }

            scale += expNegative ? -exponent : exponent;
        }

        _position = i;
        if (digits <= 19 && scale >= -22 && scale <= 22)
        {
            var value = scale < 0 ? mantissa / PowersOf10[-scale] : mantissa * PowersOf10[scale];
            return negative ? -value : value;
        }

        if (!Utf8Parser.TryParse(text[start..i], out double parsed, out var consumed, 'E') || consumed != i - start)
        {
            _position = start;
            throw Error("malformed number");
        }

        return parsed;
    }

    /// <summary>Skips any JSON value.</summary>
    public void SkipValue()
    {
        SkipWhitespace();
        var reader = new Utf8JsonReader(_text[_position..], new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            if (!reader.Read() || !reader.TrySkip())
            {
                throw Error("expected a value");
            }
        }
        catch (JsonException ex)
        {
            throw Error(ex.Message);
        }

        _position += (int)reader.BytesConsumed;
    }

    private void SkipWhitespace()
    {
        while (_position < _text.Length && _text[_position] is (byte)' ' or (byte)'\t' or (byte)'\r')
        {
            _position++;
        }
    }

    private readonly FormatException Error(string what) => new($"column {_position + 1}: {what}");
}
