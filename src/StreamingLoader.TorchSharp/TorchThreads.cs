using StreamingLoader.TorchSharp.Internal;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

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
/// to one thread, the training thread, where <see cref="TorchEpochs"/> runs every pass, and makes every other thread
/// run libtorch on one thread. A loop of your own (a <see cref="DataLoader.ForEachAsync"/> handler, an observer) and
/// <see cref="TorchEpochs.TrainStep(TorchBatch, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer)"/>
/// called from it therefore run single-threaded on the CPU, with no second team and no hand-off per step; give the
/// work to <see cref="TorchEpochs.TrainEpochAsync(DataLoader, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer, Action{Batch}, TorchFeed?, CancellationToken)"/>
/// (with a call after each step, for checkpoints) to use the team.
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
    /// per core) and every other thread one. This loads libtorch: call it first in <c>Main</c>, before training, and
    /// again to change the count.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// libtorch cannot load on this machine; the message says why (for example the <c>GLIBCXX</c> version the machine's
    /// libstdc++ lacks) and what to do.
    /// </exception>
    public static void ApplyDefaults(int? intraOpThreads = null)
    {
        if (intraOpThreads is { } threads)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads, nameof(intraOpThreads));
        }

        LibTorchSetup.EnsureLoaded();

        IntraOpThreads = TrainingThread.Shared.ConfigureIntraOpThreads(intraOpThreads);
    }
}
