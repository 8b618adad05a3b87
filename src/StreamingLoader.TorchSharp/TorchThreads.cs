using StreamingLoader.TorchSharp.Internal;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// libtorch's intra-op threads for training next to a loader. Call <see cref="ApplyDefaults"/> in <c>Main</c>, before
/// training.
/// </summary>
/// <remarks>
/// <para>
/// libtorch's intra-op threads are an OpenMP team per calling thread, kept for the thread's life. Where two threads
/// each run parallel operations (a model built on <c>Main</c> and trained elsewhere, a loop that resumes on pool
/// threads), the teams together outnumber the cores, OpenMP stops spinning between operations, and every parallel
/// operation pays for waking its team: on 2 cores, a Fashion-MNIST MLP epoch took 2.3 s with two teams of 2 threads,
/// 1.1 s with 1 thread, and 0.8 s with one team of 2. <see cref="ApplyDefaults"/> therefore gives the intra-op threads
/// to one thread, the training thread, where <see cref="TorchEpochs"/> runs every pass and
/// <see cref="TorchEpochs.TrainStep"/> every step, and makes every other thread run libtorch on one thread. A loop of
/// your own that calls libtorch directly therefore runs single-threaded on the CPU: call
/// <see cref="TorchEpochs.TrainStep"/> from it, or give the work to <see cref="TorchEpochs"/>.
/// </para>
/// <para>
/// OpenMP's wait policy is left at its default: an idle team thread spins for a while, then sleeps. With one team
/// that is the fastest here; <c>OMP_WAIT_POLICY=PASSIVE</c> (sleep at once) made the same epoch 2.3–2.9 s, because
/// each of the step's parallel operations then wakes a sleeping thread. Set the variable in the environment to
/// choose otherwise.
/// </para>
/// </remarks>
public static class TorchThreads
{
    /// <summary>Gets the training thread's intra-op thread count, once <see cref="ApplyDefaults"/> has set it; null before.</summary>
    public static int? IntraOpThreads { get; private set; }

    /// <summary>
    /// Gives the training thread <paramref name="intraOpThreads"/> intra-op threads (null: libtorch's default, one
    /// per core) and every other thread one. This loads libtorch. Call it before training, again to change the count.
    /// </summary>
    public static void ApplyDefaults(int? intraOpThreads = null)
    {
        if (intraOpThreads is { } threads)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads, nameof(intraOpThreads));
        }

        IntraOpThreads = TrainingThread.Shared.ConfigureIntraOpThreads(intraOpThreads);
    }
}
