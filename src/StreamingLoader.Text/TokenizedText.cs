using System.Runtime.InteropServices;
using StreamingLoader.Text.Internal;

namespace StreamingLoader.Text;

/// <summary>
/// A tokenized document: its token ids in a pooled buffer, its optional label, and where it came from (for error
/// messages). Made by a loader's transform (<see cref="Tokenize"/>), it is the loader's: the loader disposes it, which
/// returns the buffer to the pool, once its ids are written into a batch, or when it is rejected, dropped, or still
/// held when the loader stops. A collator only reads it:
/// <c>Collate.Fields&lt;TokenizedText&gt;().Sequence("input_ids", t =&gt; t.Ids, elementType: ElementType.Int64)</c>.
/// </summary>
/// <remarks>
/// <para>
/// Ids are <see cref="int"/>: GPT-2's 50,257 ids fit, and a sample held in a shuffle buffer costs half what it would
/// as <see cref="long"/>. The collator widens them to the batch's element type as it copies them (Int64 for
/// TorchSharp's <c>input_ids</c>: libtorch's embeddings take Int32 or Int64 indices, but its losses want Int64
/// targets, and Hugging Face's collators write Int64).
/// </para>
/// <para>
/// Disposing is idempotent, also through copies of the struct: the buffer goes back once. Reading
/// <see cref="Ids"/> after disposal throws <see cref="ObjectDisposedException"/> rather than reading the ids of
/// whatever sample rented the buffer next. Texts you tokenize yourself (<see cref="TextTokenizer.Encode(ReadOnlySpan{char})"/>)
/// are yours to dispose; one never disposed costs nothing but its buffer, which the garbage collector reclaims.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct TokenizedText : IDisposable, ISampleOrigin
{
    private readonly TokenBuffer? _buffer;
    private readonly int _generation;

    internal TokenizedText(TokenBuffer? buffer, int generation, int length, long? label, string? path, long lineNumber)
    {
        _buffer = buffer;
        _generation = generation;
        Length = length;
        Label = label;
        Path = path;
        LineNumber = lineNumber;
    }

    /// <summary>Gets the token ids.</summary>
    /// <exception cref="ObjectDisposedException">The text was disposed and its buffer returned to the pool.</exception>
    public ReadOnlySpan<int> Ids
    {
        get
        {
            if (_buffer is null)
            {
                return default;
            }

            if (_buffer.Generation != _generation)
            {
                throw new ObjectDisposedException(nameof(TokenizedText), $"The ids of {Describe()} were read after it was disposed.");
            }

            return new ReadOnlySpan<int>(_buffer.Ids, 0, Length);
        }
    }

    /// <summary>Gets the number of tokens.</summary>
    public int Length { get; }

    /// <summary>Gets the label, when the source has one (a JSON field, a class folder).</summary>
    public long? Label { get; }

    /// <summary>Gets the file (or other source) the text came from, when known.</summary>
    public string? Path { get; }

    /// <summary>Gets the text's line in <see cref="Path"/>, from 1; 0 when the text is a whole file.</summary>
    public long LineNumber { get; }

    /// <summary>Returns the ids' buffer to the pool; later calls, on this value or a copy, do nothing.</summary>
    public void Dispose()
    {
        if (_buffer is not null)
        {
            TokenBufferPool.Return(_buffer, _generation);
        }
    }

    /// <summary>Gets where the text came from (<c>file:line</c>, or the file for a whole-file document); null when unknown.</summary>
    public string? Origin => Path is null ? null : Describe();

    /// <summary>Names the text: file and line, and the token count.</summary>
    public override string ToString() => $"{Describe()}: {Length} tokens{(Label is { } label ? $", label {label}" : "")}";

    private string Describe() => Path is null ? "text" : LineNumber > 0 ? $"{Path}:{LineNumber}" : Path;
}
