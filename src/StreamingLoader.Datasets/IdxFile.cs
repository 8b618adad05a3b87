using System.Buffers.Binary;
using System.IO.Compression;
using StreamingLoader.Internal;

namespace StreamingLoader.Datasets;

/// <summary>
/// One IDX file (the format of MNIST and Fashion-MNIST), gzip'd or plain, read whole into memory and checked:
/// magic number, element type, dimensions and length. Every error is an <see cref="InvalidDataException"/> whose
/// message starts with the file's path.
/// </summary>
/// <remarks>
/// Layout: two zero bytes, an element-type code, the number of dimensions d, then d big-endian 32-bit sizes, then
/// the elements in row-major order, big-endian. Type codes: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
/// 0x0C int32, 0x0D float32, 0x0E float64.
/// </remarks>
internal sealed class IdxFile
{
    public const byte UnsignedByte = 0x08;
    public const byte SignedByte = 0x09;
    public const byte Int16 = 0x0B;
    public const byte Int32 = 0x0C;
    public const byte Float32 = 0x0D;
    public const byte Float64 = 0x0E;

    private IdxFile(string path, byte typeCode, int[] dimensions, byte[] data)
    {
        Path = path;
        TypeCode = typeCode;
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>Gets the file's path, as given.</summary>
    public string Path { get; }

    /// <summary>Gets the element-type code (third byte of the magic number).</summary>
    public byte TypeCode { get; }

    /// <summary>Gets the dimensions; the first is the number of items.</summary>
    public int[] Dimensions { get; }

    /// <summary>Gets the elements' bytes as stored (big-endian).</summary>
    public byte[] Data { get; }

    public string TypeName => TypeNameOf(TypeCode);

    /// <summary>Reads and checks an IDX file; gzip is recognized by its magic bytes, whatever the file's name.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a whole, valid IDX file.</exception>
    public static IdxFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The IDX file '{path}' does not exist.", path);
        }

        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        var headLength = file.ReadAtLeast(head, 2, throwOnEndOfStream: false);
        file.Position = 0;
        var gzip = headLength == 2 && head[0] == 0x1F && head[1] == 0x8B;
        using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        try
        {
            // A plain file's size bounds what the header may claim; a gzip stream's is unknown until it ends.
            return Read(path, stream, gzip, gzip ? -1 : file.Length, file.Length);
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            // GZipStream's own errors (a corrupt or cut-off compressed stream) do not name the file.
            throw new InvalidDataException($"'{path}': the gzip data is corrupt: {ex.Message}", ex);
        }
    }

    /// <summary>The number of bytes one element of a type takes.</summary>
    public static int SizeOf(byte typeCode) => typeCode switch
    {
        UnsignedByte or SignedByte => 1,
        Int16 => 2,
        Int32 or Float32 => 4,
        Float64 => 8,
        _ => 0,
    };

    public static string TypeNameOf(byte typeCode) => typeCode switch
    {
        UnsignedByte => "unsigned byte (0x08)",
        SignedByte => "signed byte (0x09)",
        Int16 => "int16 (0x0B)",
        Int32 => "int32 (0x0C)",
        Float32 => "float32 (0x0D)",
        Float64 => "float64 (0x0E)",
        _ => $"unknown type 0x{typeCode:X2}",
    };

    /// <summary>Reads the elements as 64-bit integers (integer types only).</summary>
    public long[] ToInt64()
    {
        var count = Data.Length / SizeOf(TypeCode);
        var result = new long[count];
        var data = Data.AsSpan();
        for (var i = 0; i < count; i++)
        {
            result[i] = TypeCode switch
            {
                UnsignedByte => data[i],
                SignedByte => (sbyte)data[i],
                Int16 => BinaryPrimitives.ReadInt16BigEndian(data[(i * 2)..]),
                Int32 => BinaryPrimitives.ReadInt32BigEndian(data[(i * 4)..]),
                _ => throw new InvalidDataException($"'{Path}' holds {TypeName} elements, not integers."),
            };
        }

        return result;
    }

    /// <param name="path">The file, for messages.</param>
    /// <param name="stream">The IDX bytes, from the start.</param>
    /// <param name="gzip">Whether <paramref name="stream"/> decompresses.</param>
    /// <param name="streamLength">The stream's length when known (plain file), else -1.</param>
    /// <param name="fileLength">The file's size on disk.</param>
    private static IdxFile Read(string path, Stream stream, bool gzip, long streamLength, long fileLength)
    {
        var what = gzip ? "decompressed data" : "file";
        Span<byte> magic = stackalloc byte[4];
        var read = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (read < 4)
        {
            throw new InvalidDataException($"'{path}' is truncated: the {what} has {read} byte(s), fewer than the 4-byte IDX magic number.");
        }

        if (magic[0] != 0 || magic[1] != 0)
        {
            throw new InvalidDataException(
                $"'{path}' is not an IDX file: its magic number 0x{magic[0]:X2}{magic[1]:X2}{magic[2]:X2}{magic[3]:X2} does not start with two zero bytes.");
        }

        var typeCode = magic[2];
        if (SizeOf(typeCode) == 0)
        {
            throw new InvalidDataException($"'{path}' has an unknown IDX element type 0x{typeCode:X2} in its magic number (known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).");
        }

        int rank = magic[3];
        if (rank == 0)
        {
            throw new InvalidDataException($"'{path}' declares 0 dimensions in its magic number; an IDX file has at least one (the item count).");
        }

        Span<byte> header = stackalloc byte[4 * 255];
        header = header[..(4 * rank)];
        read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length)
        {
            throw new InvalidDataException(
                $"'{path}' is truncated: its header declares {rank} dimension(s) ({4 + header.Length} bytes) but the {what} ends after {4 + read} bytes.");
        }

        var dimensions = new int[rank];
        long elements = 1;
        for (var d = 0; d < rank; d++)
        {
            var size = BinaryPrimitives.ReadInt32BigEndian(header[(4 * d)..]);
            if (size < 0)
            {
                throw new InvalidDataException($"'{path}' declares dimension {d} of size {(uint)size}, which is too large (more than {int.MaxValue}).");
            }

            dimensions[d] = size;
            elements *= size;
            if (elements * SizeOf(typeCode) > Array.MaxLength)
            {
                throw new InvalidDataException($"'{path}' declares shape {Shapes.Format(dimensions[..(d + 1)])}…, more than the {Array.MaxLength} bytes one array can hold.");
            }
        }

        var length = (int)(elements * SizeOf(typeCode));
        var headerLength = 4 + header.Length;
        if (streamLength >= 0 && streamLength - headerLength < length)
        {
            // Checked before allocating: a lying header must not make us reserve what the file does not hold.
            throw Truncated(path, dimensions, typeCode, length, streamLength - headerLength, what);
        }

        var data = ReadData(stream, length, streamLength >= 0 ? length : (int)Math.Min(length, Math.Max(1 << 16, 2 * fileLength)));
        if (data.Length < length)
        {
            throw Truncated(path, dimensions, typeCode, length, data.Length, what);
        }

        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) != 0)
        {
            throw new InvalidDataException(
                $"'{path}' has data after the {length} bytes its header declares (shape {Shapes.Format(dimensions)} of {TypeNameOf(typeCode)}): the header does not match the file.");
        }

        return new IdxFile(path, typeCode, dimensions, data);
    }

    /// <summary>
    /// Reads up to <paramref name="length"/> bytes, starting with a buffer of <paramref name="initial"/> and doubling
    /// it while the data lasts, so memory follows what the stream really holds, not what its header claims. A shorter
    /// array means the stream ended early.
    /// </summary>
    private static byte[] ReadData(Stream stream, int length, int initial)
    {
        var data = GC.AllocateUninitializedArray<byte>(initial);
        var filled = 0;
        while (true)
        {
            filled += stream.ReadAtLeast(data.AsSpan(filled), data.Length - filled, throwOnEndOfStream: false);
            if (filled < data.Length)
            {
                return data[..filled];
            }

            if (filled == length)
            {
                return data;
            }

            var grown = GC.AllocateUninitializedArray<byte>((int)Math.Min(length, 2L * data.Length));
            data.AsSpan().CopyTo(grown);
            data = grown;
        }
    }

    private static InvalidDataException Truncated(string path, int[] dimensions, byte typeCode, int length, long holds, string what) =>
        new($"'{path}' is truncated: shape {Shapes.Format(dimensions)} of {TypeNameOf(typeCode)} needs {length} data bytes after the header but the {what} holds {holds}.");
}
