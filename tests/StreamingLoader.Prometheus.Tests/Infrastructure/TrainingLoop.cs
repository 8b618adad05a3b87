using StreamingLoader.Datasets;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// A real StreamingLoader pipeline (tensor dataset → read → transform → collate → prefetch) read epoch after epoch
/// by a consumer that "trains" for a couple of milliseconds per batch, until disposed. Its transform throws on a
/// few samples under <see cref="ErrorPolicy.Skip"/>, so the error metrics have data too.
/// </summary>
internal sealed class TrainingLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private long _batches;

    public TrainingLoop(string pipelineName)
    {
        PipelineName = pipelineName;
        _run = Task.Run(() => RunAsync(_stop.Token));
    }

    public string PipelineName { get; }

    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Fails the caller if the loop itself failed (other than by being stopped).</summary>
    public void ThrowIfFaulted()
    {
        if (_run.IsFaulted)
        {
            _run.GetAwaiter().GetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        const int count = 2048;
        var features = new float[count * 28 * 28];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = (i % 255) / 255f;
        }

        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % 10;
        }

        var dataset = new TensorDataset<float, long>(features, [1, 28, 28], labels);
        var options = new LoaderOptions
        {
            Name = PipelineName,
            BatchSize = 32,
            Workers = 2,
            Shuffle = true,
            Seed = 7,
            Prefetch = 2,
            ErrorPolicy = ErrorPolicy.Skip,
        };

        await using var loader = Pipeline.From(dataset)
            .Transform((sample, context) => context.Index % 101 == 13 ? throw new InvalidDataException($"sample {context.Index} is corrupt") : sample)
            .Build(options);

        while (!cancellationToken.IsCancellationRequested)
        {
            await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
            {
                using (batch)
                {
                    // The "training step": slower than the loader, so the pipeline fills up and backpressure shows.
                    await Task.Delay(2, cancellationToken);
                    Interlocked.Increment(ref _batches);
                }
            }
        }
    }
}
