using System.Globalization;
using System.Text;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>A growable UTF-8 buffer reused from one scrape to the next, so a scrape allocates almost nothing.</summary>
internal sealed class ByteBuffer
{
    private byte[] _bytes;

    public ByteBuffer(int initialCapacity = 16 * 1024) => _bytes = new byte[initialCapacity];

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _bytes.AsSpan(0, Length);

    public void Clear() => Length = 0;

    /// <summary>Drops everything written after <paramref name="length"/> (used to take back a half-written family).</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    public void Write(byte value)
    {
        Ensure(1);
        _bytes[Length++] = value;
    }

    public void Write(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_bytes.AsSpan(Length));
        Length += value.Length;
    }

    /// <summary>Writes a string as UTF-8.</summary>
    public void WriteUtf8(string value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        Length += Encoding.UTF8.GetBytes(value, _bytes.AsSpan(Length));
    }

    /// <summary>Writes characters as UTF-8.</summary>
    public void WriteUtf8(ReadOnlySpan<char> value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        Length += Encoding.UTF8.GetBytes(value, _bytes.AsSpan(Length));
    }

    public void Write(long value)
    {
        Ensure(24);
        value.TryFormat(_bytes.AsSpan(Length), out var written, default, CultureInfo.InvariantCulture);
        Length += written;
    }

    /// <summary>
    /// Writes a float the way Prometheus reads one: <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>, otherwise the shortest
    /// text that round-trips, with a lowercase exponent (<c>1e-05</c>).
    /// </summary>
    public void Write(double value)
    {
        if (double.IsNaN(value))
        {
            Write("NaN"u8);
            return;
        }

        if (double.IsPositiveInfinity(value))
        {
            Write("+Inf"u8);
            return;
        }

        if (double.IsNegativeInfinity(value))
        {
            Write("-Inf"u8);
            return;
        }

        Ensure(32);
        var span = _bytes.AsSpan(Length);
        value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        var exponent = span[..written].IndexOf((byte)'E');
        if (exponent >= 0)
        {
            span[exponent] = (byte)'e';
        }

        Length += written;
    }

    /// <summary>Copies the written bytes into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination) => WrittenSpan.CopyTo(destination);

    private void Ensure(int extra)
    {
        if (_bytes.Length - Length >= extra)
        {
            return;
        }

        var size = Math.Max(_bytes.Length * 2, Length + extra);
        Array.Resize(ref _bytes, size);
    }
}
