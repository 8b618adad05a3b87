using System.Collections.Concurrent;
using System.Diagnostics;

namespace StreamingLoader.Internal;

/// <summary>
/// Decides a failed sample's fate by the policy: under Skip it becomes a dead letter on its chunk and the stage drops
/// it; under Fail the stage throws a <see cref="DataLoaderException"/> naming the sample, which travels on as an error
/// marker. Dead letters become public (<see cref="Publish"/>) when the consumer passes their chunk.
/// </summary>
internal sealed class ErrorHandler(LoaderOptions options, CancellationToken stopping)
{
    private readonly ConcurrentQueue<DeadLetter> _deadLetters = new();

    public IReadOnlyList<DeadLetter> DeadLetters => [.. _deadLetters];

    public void Publish(List<DeadLetter>? deadLetters)
    {
        foreach (var deadLetter in deadLetters ?? [])
        {
            _deadLetters.Enqueue(deadLetter);
        }
    }

    /// <summary>Whether <paramref name="error"/> is the sample's fault rather than the loader stopping.</summary>
    public bool IsSampleError(Exception error) => !(error is OperationCanceledException && stopping.IsCancellationRequested);

    public void Reject<T>(Chunk<T> chunk, string stage, long index, Exception error)
    {
        var epoch = chunk.Epoch;
        var skip = options.ErrorPolicy == ErrorPolicy.Skip;
        LoaderMetrics.Errors.Add(1, new TagList { { LoaderMetrics.PipelineTag, options.Name }, { LoaderMetrics.StageTag, stage }, { LoaderMetrics.PolicyTag, skip ? "skip" : "fail" } });
        if (!skip)
        {
            throw new DataLoaderException(stage, epoch, index, error);
        }

        chunk.AddDeadLetter(new DeadLetter(stage, epoch, index, error));
    }
}
