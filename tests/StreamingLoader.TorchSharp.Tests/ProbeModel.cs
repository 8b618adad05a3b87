using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// Wraps a model and watches its forward calls: the managed thread and libtorch's intra-op thread count of each, how
/// many there were, and a chosen call that throws or cancels.
/// </summary>
internal sealed class ProbeModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _inner;

    public ProbeModel(nn.Module<Tensor, Tensor> inner)
        : base(nameof(ProbeModel))
    {
        _inner = inner;
        RegisterComponents();
    }

    public HashSet<int> Threads { get; set; } = [];

    public HashSet<int> IntraOpThreads { get; } = [];

    /// <summary>Gets the managed thread of each forward call, in order.</summary>
    public List<int> CallThreads { get; } = [];

    public int Calls { get; set; }

    public int? ThrowAt { get; set; }

    public int? CancelAt { get; set; }

    public CancellationTokenSource? Cancel { get; set; }

    public override Tensor forward(Tensor input)
    {
        lock (IntraOpThreads)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
            CallThreads.Add(Environment.CurrentManagedThreadId);
            IntraOpThreads.Add(get_num_threads());
            Calls++;
        }

        if (Calls == ThrowAt)
        {
            throw new InvalidOperationException($"forward {Calls} failed");
        }

        if (Calls == CancelAt)
        {
            Cancel!.Cancel();
        }

        return _inner.call(input);
    }
}
