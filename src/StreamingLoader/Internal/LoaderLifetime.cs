using System.Runtime.ExceptionServices;

namespace StreamingLoader.Internal;

/// <summary>
/// The one owner of what a loader starts: the cancellation sources, the first fault, <see cref="Completion"/> and
/// every task. Stopping cancels, keeps the pipeline draining while the tasks end, and waits for user code only up
/// to a bound: what is still running then is abandoned and described, never awaited for ever.
/// </summary>
#pragma warning disable CA1001 // StopAsync disposes the sources, once nothing can use them any more.
internal sealed class LoaderLifetime
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _sourceStop;
    private readonly CancellationToken _token;
    private readonly CancellationToken _sourceToken;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Task Task, Func<IEnumerable<string>> Describe)> _owned = [];
    private readonly Lock _lock = new();
    private ExceptionDispatchInfo? _fault;

    public LoaderLifetime()
    {
        _sourceStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        _token = _stop.Token;
        _sourceToken = _sourceStop.Token;

        // The consumer receives the error itself; a faulted Completion nobody awaits must not surface again later.
        _completion.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Gets the token every stage runs under: canceled when the loader stops or fails.</summary>
    public CancellationToken Token => _token;

    /// <summary>Gets the token the source reads under: also canceled when a sample fails, so reading stops first.</summary>
    public CancellationToken SourceToken => _sourceToken;

    public Task Completion => _completion.Task;

    public ExceptionDispatchInfo? Fault => Volatile.Read(ref _fault);

    /// <summary>Starts <paramref name="work"/> on the thread pool; stopping waits for it (up to the bound).</summary>
    public void Run(Func<Task> work, Func<IEnumerable<string>> describe) => Own(Task.Run(work, CancellationToken.None), describe);

    public void Own(Task task, Func<IEnumerable<string>> describe)
    {
        lock (_lock)
        {
            _owned.Add((task, describe));
        }
    }

    public IReadOnlyList<Task> OwnedTasks()
    {
        lock (_lock)
        {
            return [.. _owned.Select(o => o.Task)];
        }
    }

    /// <summary>Records the first error (not a cancellation) and stops every stage.</summary>
    public void Fail(Exception error)
    {
        if (error is not OperationCanceledException)
        {
            Interlocked.CompareExchange(ref _fault, ExceptionDispatchInfo.Capture(error), null);
        }

        Cancel(_stop);
    }

    /// <summary>Stops the source only: the stages finish what was read, so errors and batches arrive in order.</summary>
    public void StopSource() => Cancel(_sourceStop);

    /// <summary>The consumer read everything: the source is exhausted, or the first error was delivered.</summary>
    public void Finish()
    {
        if (Fault is { } fault)
        {
            _completion.TrySetException(fault.SourceException);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    /// <summary>
    /// Cancels everything and calls <paramref name="drain"/> until every owned task has ended (so no stage waits for
    /// room that only the consumer would make), or until <paramref name="timeout"/> has passed on <paramref name="time"/>'s
    /// clock. Returns what is still running.
    /// </summary>
    public async Task<IReadOnlyList<string>> StopAsync(Action drain, TimeSpan timeout, TimeProvider time)
    {
        Fail(new OperationCanceledException());
        var all = Task.WhenAll(OwnedTasks());

        // The deadline is a timer of the loader's clock, started before the first await, so a test's clock that is
        // advanced once disposal has begun moves it. Draining is polled in real time: it is work, not a timeout.
        using var stopped = new CancellationTokenSource();
        var deadline = Task.Delay(timeout, time, stopped.Token);
        while (true)
        {
            drain();
            if (all.IsCompleted || deadline.IsCompleted)
            {
                break;
            }

            await Task.WhenAny(all, deadline, Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None)).ConfigureAwait(false);
        }

        await stopped.CancelAsync().ConfigureAwait(false);
        drain();
        _completion.TrySetCanceled(_token);
        if (all.IsCompleted)
        {
            // Observe the tasks' own faults: the first error already reached the consumer.
            _ = all.Exception;
            _sourceStop.Dispose();
            _stop.Dispose();
            return [];
        }

        // User code still holds these; the sources stay undisposed for it, and the GC takes them once it returns.
        lock (_lock)
        {
            return [.. _owned.Where(o => !o.Task.IsCompleted).SelectMany(o => o.Describe())];
        }
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
