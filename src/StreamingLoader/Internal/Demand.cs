namespace StreamingLoader.Internal;

/// <summary>
/// The consumer's requests when nothing is read ahead (<see cref="LoaderOptions.Workers"/> = 0, PyTorch's
/// <c>num_workers=0</c>): the source starts a batch only when the consumer asks for one, and at most one at a time.
/// </summary>
internal sealed class Demand : IDisposable
{
    private readonly SemaphoreSlim _requests = new(0, 1);
    private int _pending;

    /// <summary>The consumer wants a batch: lets the source start one, unless one it asked for is still coming.</summary>
    public void Request()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0)
        {
            _requests.Release();
        }
    }

    /// <summary>The consumer received what a request made (a batch, or a chunk whose samples were all dropped).</summary>
    public void Received() => Volatile.Write(ref _pending, 0);

    /// <summary>The source waits for the consumer to ask before it starts a batch.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _requests.WaitAsync(cancellationToken);

    public void Dispose() => _requests.Dispose();
}
