using System.Globalization;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>The parser's numbers: correctly rounded floats, exact Int64 labels, and the non-finite policy.</summary>
internal ref partial struct JsonLineParser
{
    private static readonly double[] PowersOf10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>
    /// Reads an integer exactly: plain digits are parsed as integers (never through double, so labels above 2^53
    /// keep every digit); a fraction or exponent (<c>3.0</c>, <c>1e2</c>) is accepted when the value is integral.
    /// </summary>
    public long ReadInt64()
    {
        SkipWhitespace();
        if (!TryScanNumber(out var start, out var mantissa, out var digits, out _, out var negative, out var integral))
        {
            throw Error("expected an integer");
        }

        if (integral)
        {
            // Up to 18 significant digits the mantissa is exact and within long's range.
            if (digits <= 18)
            {
                return negative ? -(long)mantissa : (long)mantissa;
            }

            if (long.TryParse(_text[start.._position], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
            {
                return big;
            }

            _position = start;
            throw Error($"the integer does not fit in Int64 ({long.MinValue} to {long.MaxValue})");
        }

        // A fraction or exponent (3.0, 1e2): decimal holds 28 digits exactly, so integral-ness is decided exactly.
        if (digits > 28 || !decimal.TryParse(_text[start.._position], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            _position = start;
            throw Error(digits > 28 ? "expected an integer (more than 28 significant digits)" : $"the integer does not fit in Int64 ({long.MinValue} to {long.MaxValue})");
        }

        if (value != decimal.Truncate(value) || (value == 0 && digits > 0))
        {
            _position = start;
            throw Error("expected an integer");
        }

        if (value is < long.MinValue or > long.MaxValue)
        {
            _position = start;
            throw Error($"the integer does not fit in Int64 ({long.MinValue} to {long.MaxValue})");
        }

        return (long)value;
    }

    /// <summary>
    /// Parses a JSON number to the nearest float. Up to 19 significant digits it scales the integer mantissa by an
    /// exact power of ten in double (within about one double ulp of the true value), and rounds that to float unless
    /// it lies so near the midpoint of two floats that the double's error could decide the rounding; those, longer
    /// numbers, and numbers outside float's normal range go to the correctly rounding <c>float.TryParse</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ReadSingle()
    {
        SkipWhitespace();
        if (!TryScanNumber(out var start, out var mantissa, out var digits, out var scale, out var negative, out _))
        {
            return ReadNonFinite();
        }

        if (digits <= 19 && scale >= -22 && scale <= 22)
        {
            if (mantissa == 0)
            {
                return negative ? -0f : 0f;
            }

            var value = scale < 0 ? mantissa / PowersOf10[-scale] : mantissa * PowersOf10[scale];
            var bits = (ulong)BitConverter.DoubleToInt64Bits(value);

            // Float's normal range below 2^127 (biased double exponent 897..1149; the top binade may round to infinity), and the 29 bits float drops not within a few
            // double ulps of the half-way pattern 1000…0.
            if ((uint)((int)(bits >> 52) - 897) <= 252 && (ulong)((long)(bits & 0x1FFF_FFFF) - 0x1000_0000 + 4) > 8)
            {
                var single = (float)value;
                return negative ? -single : single;
            }
        }

        return ParseSingleSlow(start);
    }

    /// <summary>
    /// Checks the JSON number grammar (minus sign, digits, optional fraction and exponent) and gathers up to 19
    /// significant digits into <paramref name="mantissa"/>; <paramref name="digits"/> counts every significant digit,
    /// so more than 19 means the mantissa is not to be used. <paramref name="start"/> is where the number starts; the
    /// position moves past it. False (position unmoved) when no digit starts there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryScanNumber(out int start, out ulong mantissa, out int digits, out int scale, out bool negative, out bool integral)
    {
        var text = _text;
        start = _position;
        var i = start;
        negative = i < text.Length && text[i] == (byte)'-';
        if (negative)
        {
            i++;
        }

        mantissa = 0;
        digits = 0;
        scale = 0;
        integral = true;
        var intStart = i;
        while (i < text.Length && (uint)(text[i] - '0') <= 9)
        {
            mantissa = (mantissa * 10) + (uint)(text[i] - '0');
            digits += mantissa != 0 ? 1 : 0;
            i++;
        }

        if (i == intStart)
        {
            return false;
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            integral = false;
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
                _position = i;
                throw Error("expected a digit after '.'");
            }

            scale = fracStart - i;
        }

        if (i < text.Length && (text[i] | 0x20) == (byte)'e')
        {
            integral = false;
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
                _position = i;
                throw Error("expected a digit in the exponent");
            }

            scale += expNegative ? -exponent : exponent;
        }

        _position = i;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private float ParseSingleSlow(int start)
    {
        var text = _text[start.._position];
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            _position = start;
            throw Error("malformed number");
        }

        if (!float.IsFinite(value) && _nonFinite == NonFiniteNumbers.Reject)
        {
            _position = start;
            throw Error($"{System.Text.Encoding.UTF8.GetString(text)} is outside the Float32 range (NonFiniteNumbers.Allow or Count makes it ±Infinity)");
        }

        if (!float.IsFinite(value))
        {
            NonFiniteValues++;
        }

        return value;
    }

    private readonly bool StartsNonFinite()
    {
        var rest = _text[_position..];
        return rest.StartsWith("NaN"u8) || rest.StartsWith("Infinity"u8) || rest.StartsWith("-Infinity"u8);
    }

    /// <summary>Reads NaN, Infinity or -Infinity (what Python's json writes) if the policy allows them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private float ReadNonFinite()
    {
        var rest = _text[_position..];
        var (token, value) = rest.StartsWith("NaN"u8) ? ("NaN", float.NaN)
            : rest.StartsWith("Infinity"u8) ? ("Infinity", float.PositiveInfinity)
            : rest.StartsWith("-Infinity"u8) ? ("-Infinity", float.NegativeInfinity)
            : throw Error("expected a number");
        if (_nonFinite == NonFiniteNumbers.Reject)
        {
            throw Error($"{token} is not a JSON number (NonFiniteNumbers.Allow or Count accepts NaN, Infinity and -Infinity)");
        }

        NonFiniteValues++;

        _position += token.Length;
        return value;
    }
}
