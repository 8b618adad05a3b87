using System.Collections.Concurrent;
using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Structured;

/// <summary>
/// Records every disposable sample a transform makes and every disposal, so a test can check that each was disposed
/// exactly once and never read after it (the contract a pooled <c>TokenizedText</c> relies on).
/// </summary>
internal sealed class DisposalLedger
{
    private readonly ConcurrentDictionary<long, int> _disposals = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private long _made;

    public long Made => Interlocked.Read(ref _made);

    public IEnumerable<string> Problems => _problems;

    /// <summary>Wraps document <paramref name="document"/> as a new sample (each call a new instance, as a tokenizer's output is).</summary>
    public TrackedDocument Make(Document document, bool unreadable = false)
    {
        var instance = Interlocked.Increment(ref _made);
        _disposals[instance] = 0;
        return new TrackedDocument(document, instance, this, unreadable);
    }

    public void Disposed(long instance)
    {
        if (_disposals.AddOrUpdate(instance, 1, (_, n) => n + 1) > 1)
        {
            _problems.Enqueue($"instance {instance} disposed twice");
        }
    }

    public void Read(long instance)
    {
        if (_disposals.TryGetValue(instance, out var n) && n > 0)
        {
            _problems.Enqueue($"instance {instance} read after its disposal");
            throw new ObjectDisposedException(nameof(TrackedDocument));
        }
    }

    /// <summary>The instances made and not disposed.</summary>
    public long[] Undisposed() => [.. _disposals.Where(d => d.Value == 0).Select(d => d.Key)];
}

/// <summary>A document held as a disposable sample; its tokens may not be read once it is disposed.</summary>
internal readonly struct TrackedDocument(Document document, long instance, DisposalLedger ledger, bool unreadable) : IDisposable
{
    public Document Document => document;

    /// <summary>Gets the tokens; an unreadable document throws, so it is rejected as soon as it is measured.</summary>
    public ReadOnlySpan<int> Tokens
    {
        get
        {
            ledger.Read(instance);
            return unreadable ? throw new InvalidDataException($"document {document.Id} is unreadable") : document.Tokens;
        }
    }

    public void Dispose() => ledger.Disposed(instance);

    /// <summary>Input ids padded with -1, a mask and lengths, and the label; <paramref name="failWrite"/> rejects a document while it is written.</summary>
    public static FieldCollator<TrackedDocument> Collator(SequencePadding? padding = null, Func<Document, bool>? failWrite = null) =>
        Collate.Fields<TrackedDocument>()
            .Sequence("input_ids", d => d.Tokens, padding, padValue: -1, maskName: "attention_mask", lengthsName: "lengths", elementType: ElementType.Int64)
            .Scalar("labels", d => failWrite?.Invoke(d.Document) == true ? throw new InvalidDataException($"document {d.Document.Id} refused") : d.Document.Label);
}
