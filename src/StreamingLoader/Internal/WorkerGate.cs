using System.Diagnostics;

namespace StreamingLoader.Internal;

/// <summary>
/// The autotuned workers of one parallel block. A Dataflow block's <c>MaxDegreeOfParallelism</c> is fixed when it is
/// built, so the block is built with the most workers the autotuner may ask for and every message passes this gate
/// inside the block's function: at most <see cref="Limit"/> messages run it at once, the others wait asynchronously
/// (holding no thread), first come first served. The block keeps the order and the bound on what it holds, and a
/// waiting chunk keeps the pool buffer reserved for it, so the earliest batch still always has its buffer
/// (<see cref="BufferReservation.ReserveAsync"/>). The gate also measures the time its workers are busy.
/// </summary>
internal sealed class WorkerGate
{
    private readonly ResizableSemaphore _slots;
    private readonly CancellationToken _stop;
    private long _busyTimestampTicks;
    private long _messages;

    /// <param name="limit">The messages that may run at once, to begin with.</param>
    /// <param name="stop">The loader's token: a message still waiting when it is canceled is dropped (the block ends).</param>
    public WorkerGate(int limit, CancellationToken stop)
    {
        _slots = new ResizableSemaphore(limit);
        _stop = stop;
    }

    /// <summary>Gets the messages that may run at once.</summary>
    public int Limit => _slots.Limit;

    /// <summary>Gets the time messages spent in the block's function (past the gate) so far, summed over workers.</summary>
    public TimeSpan Busy => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTimestampTicks));

    /// <summary>Gets the messages that passed the gate so far.</summary>
    public long Messages => Interlocked.Read(ref _messages);

    public void Resize(int limit) => _slots.Resize(limit);

    /// <summary>The block function <paramref name="work"/>, gated.</summary>
    public Func<TIn, Task<TOut>> Wrap<TIn, TOut>(Func<TIn, TOut> work) => input =>
        _slots.Wait(0, CancellationToken.None) ? Task.FromResult(Run(work, input)) : WaitThenRunAsync(work, input);

    /// <summary>The asynchronous block function <paramref name="work"/>, gated.</summary>
    public Func<TIn, Task<TOut>> Wrap<TIn, TOut>(Func<TIn, Task<TOut>> work) => input => RunAsync(work, input);

    private TOut Run<TIn, TOut>(Func<TIn, TOut> work, TIn input)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return work(input);
        }
        finally
        {
            Leave(start);
        }
    }

    private async Task<TOut> WaitThenRunAsync<TIn, TOut>(Func<TIn, TOut> work, TIn input)
    {
        // SemaphoreSlim completes its waiters asynchronously: this continues on the pool, not on the releasing worker.
        await _slots.WaitAsync(_stop).ConfigureAwait(false);
        return Run(work, input);
    }

    private async Task<TOut> RunAsync<TIn, TOut>(Func<TIn, Task<TOut>> work, TIn input)
    {
        await _slots.WaitAsync(_stop).ConfigureAwait(false);
        var start = Stopwatch.GetTimestamp();
        try
        {
            return await work(input).ConfigureAwait(false);
        }
        finally
        {
            Leave(start);
        }
    }

    private void Leave(long start)
    {
        Interlocked.Add(ref _busyTimestampTicks, Stopwatch.GetTimestamp() - start);
        Interlocked.Increment(ref _messages);
        _slots.Release();
    }
}
