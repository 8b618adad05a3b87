using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>
/// One pooled batch's memory: every tensor of the layout in one 64-byte-aligned native block, each at an aligned
/// offset, plus the sample indices and each variable-length field's per-sample lengths. A fixed-shape tensor gets
/// room for a full batch once; a variable-length field's room grows to the largest batch seen, never past a full
/// batch at its maximum length, and the block is then allocated anew (its contents need not survive: a batch is
/// written from scratch). The pool reuses buffers; each lease gets a new <see cref="Batch"/> over one.
/// </summary>
internal sealed unsafe class BatchBuffer
{
    public const int Alignment = 64;

    /// <summary>Steps a variable-length field has room for at first, per sample: most text batches fit, few waste much.</summary>
    private const int InitialSteps = 128;

    private readonly BatchLayout _layout;
    private readonly long[] _maxBytes;
    private readonly int _capacity;

    public BatchBuffer(BatchLayout layout, int capacity)
    {
        _layout = layout;
        var tensors = layout.Tensors;
        Offsets = new long[tensors.Count];
        Capacities = new long[tensors.Count];
        _maxBytes = new long[tensors.Count];
        Lengths = new int[tensors.Count][];
        _capacity = capacity;
        for (var i = 0; i < tensors.Count; i++)
        {
            var spec = tensors[i];
            var elementSize = ElementTypes.SizeOf(spec.ElementType);
            _maxBytes[i] = AlignUp(capacity * spec.MaxElementsPerSample * elementSize);
            Capacities[i] = spec.IsVariableLength
                ? Math.Min(_maxBytes[i], AlignUp((long)capacity * Math.Min(InitialSteps, spec.EffectivePadding.MaxLength) * spec.ElementsPerStep * elementSize))
                : _maxBytes[i];
        }

        Place();
        Block = Allocate(Capacities, out var total);
        BlockBytes = total;
        try
        {
            Indices = new long[capacity];
            for (var i = 0; i < tensors.Count; i++)
            {
                if (layout.Kinds[i] == TensorKind.Data && tensors[i].IsVariableLength)
                {
                    Lengths[i] = new int[capacity];
                }
            }
        }
        catch (OutOfMemoryException ex)
        {
            Free();
            throw TooLarge(total, ex);
        }
    }

    /// <summary>Gets the start of the block: the first tensor's memory.</summary>
    public byte* Block { get; private set; }

    /// <summary>Gets the bytes of the block.</summary>
    public long BlockBytes { get; private set; }

    /// <summary>Gets each tensor's offset in the block.</summary>
    public long[] Offsets { get; }

    /// <summary>Gets each tensor's room in bytes.</summary>
    public long[] Capacities { get; }

    /// <summary>Gets each variable-length data tensor's per-sample lengths (after truncation); null for the others.</summary>
    public int[][] Lengths { get; }

    public long[] Indices { get; }

    public byte* Data(int tensor) => Block + Offsets[tensor];

    /// <summary>
    /// Makes room for <paramref name="required"/> bytes in each tensor, allocating the block anew when one has too
    /// little, with headroom so a slowly growing length does not reallocate every batch. On failure the buffer is
    /// left as it was.
    /// </summary>
    /// <returns>The change in allocated bytes.</returns>
    public long EnsureCapacity(ReadOnlySpan<long> required)
    {
        long[]? grown = null;
        for (var i = 0; i < required.Length; i++)
        {
            if (required[i] > Capacities[i])
            {
                grown ??= (long[])Capacities.Clone();
                grown[i] = Math.Min(_maxBytes[i], AlignUp(Math.Max(required[i], Capacities[i] + (Capacities[i] / 2))));
            }
        }

        if (grown is null)
        {
            return 0;
        }

        var before = BlockBytes;
        var block = Allocate(grown, out var total);
        NativeMemory.AlignedFree(Block);
        grown.CopyTo(Capacities, 0);
        Place();
        Block = block;
        BlockBytes = total;
        return total - before;
    }

    public void Free()
    {
        NativeMemory.AlignedFree(Block);
        Block = null;
        BlockBytes = 0;
    }

    private void Place()
    {
        long offset = 0;
        for (var i = 0; i < Capacities.Length; i++)
        {
            Offsets[i] = offset;
            offset += Capacities[i];
        }
    }

    private byte* Allocate(long[] capacities, out long total)
    {
        total = capacities.Sum();
        try
        {
            return (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(total, Alignment), Alignment);
        }
        catch (OutOfMemoryException ex)
        {
            throw TooLarge(total, ex);
        }
    }

    private InvalidOperationException TooLarge(long bytes, OutOfMemoryException error) =>
        new($"A batch buffer of {_capacity} samples ({bytes:N0} bytes for {_layout}) could not be allocated: lower LoaderOptions.BatchSize or the fields' SequencePadding.MaxLength.", error);

    public static long AlignUp(long bytes) => Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
}
