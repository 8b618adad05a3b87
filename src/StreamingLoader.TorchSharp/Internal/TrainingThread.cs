using System.Collections.Concurrent;
using TorchSharp;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>
/// The one thread that runs the training passes of the process: every <see cref="TorchEpochs"/> pass (single steps run
/// on their caller's thread: a hand-off per step cost two thread wake-ups). libtorch's intra-op threads are an OpenMP team per calling thread, kept for
/// the thread's life: where a second thread also runs parallel operations (a model built on <c>Main</c>, a new thread
/// per pass, a loop that resumes on pool threads), libgomp sees more threads than cores and stops spinning between
/// operations (at most 1,000 spins), so every parallel operation pays for waking its team. Measured on 2 cores with
/// 2 intra-op threads: a 200,704-element <c>mul_</c> took 50 µs with a second team against 5 µs with one, and the
/// Fashion-MNIST MLP's epoch 2.3 s against 0.75–0.89 s. One thread doing the work keeps one team, MKL's buffers and
/// TorchSharp's per-thread state in one place.
/// </summary>
internal sealed class TrainingThread
{
    private static readonly Lazy<TrainingThread> SharedThread = new(() => new TrainingThread());
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private int? _defaultIntraOpThreads;

    private TrainingThread()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "StreamingLoader training" };
        _thread.Start();
    }

    /// <summary>Gets the process's training thread, started on first use.</summary>
    public static TrainingThread Shared => SharedThread.Value;

    /// <summary>Gets whether the caller is the training thread.</summary>
    public bool IsCurrent => Thread.CurrentThread == _thread;

    /// <summary>Queues <paramref name="work"/> behind the work already queued; the task ends with its result, error or cancellation.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                completion.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                completion.TrySetResult(work());
            }
            catch (OperationCanceledException e) when (e.CancellationToken == cancellationToken && cancellationToken.IsCancellationRequested)
            {
                completion.TrySetCanceled(cancellationToken);
            }
            catch (Exception e)
            {
                completion.TrySetException(e);
            }
        }, CancellationToken.None);
        return completion.Task;
    }

    /// <summary>Runs <paramref name="work"/> on the training thread and waits for it (inline when called there).</summary>
    public T Invoke<T>(Func<T> work) => IsCurrent ? work() : RunAsync(work, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Gives the training thread <paramref name="threads"/> intra-op threads (null: libtorch's default, one per core),
    /// then makes one thread libtorch's count for every other thread, which each reads the first time it needs it.
    /// </summary>
    public int ConfigureIntraOpThreads(int? threads)
    {
        if (IsCurrent)
        {
            throw new InvalidOperationException("Set the intra-op threads before training, not from a training pass or step.");
        }

        var count = Invoke(() =>
        {
            // libtorch initializes a thread's count on its first use, from the count of the time (one per core
            // unless set): read first, that is this thread's default.
            var current = torch.get_num_threads();
            _defaultIntraOpThreads ??= current;
            var wanted = threads ?? _defaultIntraOpThreads.Value;
            if (wanted != current)
            {
                torch.set_num_threads(wanted);
            }

            return wanted;
        });

        // set_num_threads also sets the caller's own count, and the default of threads not yet started in libtorch.
        torch.set_num_threads(1);
        return count;
    }

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
