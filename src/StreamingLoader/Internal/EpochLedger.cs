using System.Collections.Concurrent;

namespace StreamingLoader.Internal;

/// <summary>
/// Counts each epoch's chunks: how many the source sent (from the epoch's end marker), how many the last stage made
/// and how many the consumer received. The consumer's epoch ends when it received them all; an unordered source
/// waits until the stages made them all before it starts the next epoch.
/// </summary>
/// <remarks>
/// An epoch's tally is forgotten once every side that uses it is done with it: the consumer, and, when it waits, the
/// source. Forgetting it at the consumer's end alone would let a source that checks late find a fresh, empty tally
/// and wait for ever.
/// </remarks>
internal sealed class EpochLedger(bool sourceWaits)
{
    private readonly ConcurrentDictionary<long, Tally> _epochs = new();
    private readonly int _sides = sourceWaits ? 2 : 1;
    private TaskCompletionSource? _waiter;

    /// <summary>The last stage made <paramref name="delivery"/> (any thread).</summary>
    public void RecordMade(in Delivery delivery)
    {
        if (delivery.Kind == DeliveryKind.Completed || delivery.Kind == DeliveryKind.Error)
        {
            return;
        }

        var tally = _epochs.GetOrAdd(delivery.Epoch, static _ => new Tally());
        if (delivery.Kind == DeliveryKind.EpochEnd)
        {
            Volatile.Write(ref tally.Expected, delivery.Chunks);
        }
        else
        {
            Interlocked.Increment(ref tally.Made);
        }

        Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
    }

    /// <summary>Waits until every chunk of <paramref name="epoch"/> has been made (the source's thread).</summary>
    public async ValueTask WaitUntilMadeAsync(long epoch, CancellationToken cancellationToken)
    {
        var tally = _epochs.GetOrAdd(epoch, static _ => new Tally());
        while (true)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _waiter, signal);
            var expected = Volatile.Read(ref tally.Expected);
            if (expected >= 0 && Volatile.Read(ref tally.Made) >= expected)
            {
                Forget(epoch, tally);
                return;
            }

            await signal.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The consumer received <paramref name="delivery"/> (a batch, an empty chunk or the epoch's end).</summary>
    public void RecordReceived(in Delivery delivery)
    {
        var tally = _epochs.GetOrAdd(delivery.Epoch, static _ => new Tally());
        if (delivery.Kind == DeliveryKind.EpochEnd)
        {
            Volatile.Write(ref tally.Expected, delivery.Chunks);
        }
        else
        {
            tally.Received++;
        }
    }

    /// <summary>Whether the consumer has every chunk of <paramref name="epoch"/>; then the epoch is forgotten.</summary>
    public bool IsReceived(long epoch)
    {
        if (!_epochs.TryGetValue(epoch, out var tally))
        {
            return false;
        }

        var expected = Volatile.Read(ref tally.Expected);
        if (expected < 0 || tally.Received != expected)
        {
            return false;
        }

        Forget(epoch, tally);
        return true;
    }

    private void Forget(long epoch, Tally tally)
    {
        if (Interlocked.Increment(ref tally.SidesDone) == _sides)
        {
            _epochs.TryRemove(epoch, out _);
        }
    }

    private sealed class Tally
    {
#pragma warning disable CA1051 // Fields, for Interlocked.
        public int Expected = -1;
        public int Made;
        public int Received;
        public int SidesDone;
#pragma warning restore CA1051
    }
}
