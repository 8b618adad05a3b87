using System.Globalization;

namespace StreamingLoader.Internal;

/// <summary>
/// Which sample each worker is in user code for (a read, a transform, a collate function): what a stop that cannot
/// wait any longer names as abandoned. One slot per concurrent chunk; updating it is a pair of field writes.
/// </summary>
internal sealed class InFlightWork
{
    private readonly Slot[] _slots;
    private readonly TimeProvider _time;

    public InFlightWork(int capacity, TimeProvider time)
    {
        _time = time;
        _slots = new Slot[capacity];
        for (var i = 0; i < capacity; i++)
        {
            _slots[i] = new Slot();
        }
    }

    /// <summary>Claims a slot for one chunk of <paramref name="epoch"/>; a slot is always returned.</summary>
    public Slot Enter(long epoch)
    {
        foreach (var slot in _slots)
        {
            if (Interlocked.CompareExchange(ref slot.InUse, 1, 0) == 0)
            {
                slot.Epoch = epoch;
                slot.Index = -1;
                slot.Stage = null;
                slot.Since = _time.GetTimestamp();
                return slot;
            }
        }

        return Slot.Untracked;
    }

    /// <summary>Describes the user calls running now.</summary>
    public IEnumerable<string> Describe()
    {
        foreach (var slot in _slots)
        {
            if (Volatile.Read(ref slot.InUse) == 1 && slot.Stage is { } stage)
            {
                var seconds = _time.GetElapsedTime(slot.Since).TotalSeconds;
                yield return string.Create(CultureInfo.InvariantCulture, $"{stage.Tag()} of sample {slot.Index} (epoch {slot.Epoch}), running for {seconds:F1} s");
            }
        }
    }

    internal sealed class Slot
    {
        public static readonly Slot Untracked = new();

#pragma warning disable CA1051 // Fields: the hot path writes them per sample.
        public int InUse;
        public long Epoch;
        public long Index;
        public PipelineStage? Stage;
        public long Since;
#pragma warning restore CA1051

        /// <summary>Notes that user code of <paramref name="stage"/> is about to run for sample <paramref name="index"/>.</summary>
        public void At(PipelineStage stage, long index)
        {
            Stage = stage;
            Index = index;
        }

        public void Exit()
        {
            if (this != Untracked)
            {
                Stage = null;
                Volatile.Write(ref InUse, 0);
            }
        }
    }
}
