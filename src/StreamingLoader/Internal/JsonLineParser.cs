using System.Runtime.InteropServices;
using System.Text.Json;

namespace StreamingLoader.Internal;

/// <summary>
/// A forward-only reader for one JSON Lines object, fast on the shape training data has (flat objects of numbers
/// and number arrays); anything else is skipped with <see cref="Utf8JsonReader"/>. Errors are
/// <see cref="FormatException"/>s that give the column.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal ref partial struct JsonLineParser
{
    private readonly ReadOnlySpan<byte> _text;
    private readonly NonFiniteNumbers _nonFinite;
    private int _position;

    /// <summary>Gets the NaN and infinite values read so far (never more than 0 under <see cref="NonFiniteNumbers.Reject"/>).</summary>
    public int NonFiniteValues { get; private set; }
    private int _stringStart; // the opening quote of the last string ReadString read, for KeyEquals

    public JsonLineParser(ReadOnlySpan<byte> text, NonFiniteNumbers nonFinite = NonFiniteNumbers.Reject)
    {
        _text = text;
        _nonFinite = nonFinite;
        _position = 0;
        _stringStart = 0;
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

    /// <summary>
    /// Reads a string token (a key) and returns its raw bytes between the quotes; <paramref name="escaped"/> says
    /// whether they hold a backslash, in which case compare with <see cref="KeyEquals"/>.
    /// </summary>
    public ReadOnlySpan<byte> ReadString(out bool escaped)
    {
        Expect((byte)'"');
        _stringStart = _position - 1;
        var start = _position;
        escaped = false;

        // Keys are short: a plain loop beats a vectorized search here.
        for (var i = start; i < _text.Length; i++)
        {
            var c = _text[i];
            if (c == (byte)'"')
            {
                _position = i + 1;
                return _text[start..i];
            }

            if (c == (byte)'\\')
            {
                break;
            }
        }

        // An escape: walk the rest so that \" does not end the string.
        escaped = true;
        while (_position < _text.Length && _text[_position] != (byte)'"')
        {
            _position += _text[_position] == (byte)'\\' ? 2 : 1;
        }

        if (_position >= _text.Length)
        {
            _position = _text.Length;
            throw Error("unterminated string");
        }

        return _text[start.._position++];
    }

    /// <summary>Whether a string from <see cref="ReadString"/> equals <paramref name="key"/> once unescaped ("\u0078" is "x").</summary>
    public readonly bool KeyEquals(ReadOnlySpan<byte> raw, bool escaped, ReadOnlySpan<byte> key)
    {
        if (!escaped)
        {
            return raw.SequenceEqual(key);
        }

        // The quoted token lies just around raw; Utf8JsonReader unescapes it and rejects bad escapes.
        var quotedStart = _stringStart;
        var reader = new Utf8JsonReader(_text.Slice(quotedStart, raw.Length + 2));
        try
        {
            return reader.Read() && reader.ValueTextEquals(key);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"column {quotedStart + 1}: malformed string: {ex.Message}", ex);
        }
    }

    /// <summary>Reads an array of exactly <paramref name="destination"/>.Length numbers, each correctly rounded to float.</summary>
    public void ReadFloatArray(Span<float> destination, string field)
    {
        Expect((byte)'[');
        var count = 0;
        if (!TryConsume((byte)']'))
        {
            do
            {
                var value = ReadSingle();
                if (count < destination.Length)
                {
                    destination[count] = value;
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

    /// <summary>Skips any JSON value.</summary>
    public void SkipValue()
    {
        SkipWhitespace();
        if (StartsNonFinite())
        {
            // The policy applies, but an ignored field's value is not training data: it is not counted.
            _ = ReadNonFinite();
            NonFiniteValues--;
            return;
        }

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
