using System.Collections.Concurrent;
using System.Diagnostics;

namespace StreamingLoader.Internal;

/// <summary>
/// Decides a failed sample's fate: first the <see cref="RetryPolicy"/> (a transient error in a read or transform is
/// tried again after a backoff), then the stage's policy. Under Skip the sample becomes a dead letter on its chunk and
/// the stage drops it; under Fail the stage throws a <see cref="DataLoaderException"/> naming the sample, which travels
/// on as an error marker. Dead letters become public (<see cref="Publish"/>) when the consumer passes their chunk.
/// </summary>
internal sealed class ErrorHandler(LoaderOptions options, SampleAccounting accounting, TimeProvider time, CancellationToken stopping)
{
    private readonly ConcurrentQueue<DeadLetter> _deadLetters = new();

    public IReadOnlyList<DeadLetter> DeadLetters => [.. _deadLetters];

    public void Publish(long epoch, List<DeadLetter>? deadLetters)
    {
        if (deadLetters is null)
        {
            return;
        }

        foreach (var deadLetter in deadLetters)
        {
            _deadLetters.Enqueue(deadLetter);
        }

        accounting.Add(epoch, Tally.Skipped, deadLetters.Count);
    }

    /// <summary>Whether <paramref name="error"/> is the sample's fault rather than the loader stopping.</summary>
    public bool IsSampleError(Exception error) => !(error is OperationCanceledException && stopping.IsCancellationRequested);

    /// <summary>
    /// Whether attempt number <paramref name="attempt"/> at a sample, which threw <paramref name="error"/>, is followed by
    /// another (<see cref="LoaderOptions.Retry"/>), and if so the backoff to wait first; the retry is counted.
    /// </summary>
    public bool ShouldRetry(Exception error, int attempt, long epoch, long index, out TimeSpan backoff)
    {
        if (options.Retry is not { } retry || attempt >= retry.MaxAttempts || !retry.IsTransient(error))
        {
            backoff = default;
            return false;
        }

        backoff = retry.DelayBefore(attempt, options.Seed, epoch, index);
        accounting.Add(epoch, Tally.Retried, 1);
        return true;
    }

    /// <summary>Waits a retry's backoff; the loader stopping ends the wait with an <see cref="OperationCanceledException"/>.</summary>
    public Task BackoffAsync(TimeSpan backoff) => backoff <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(backoff, time, stopping);

    /// <summary>
    /// The retry loop of a sample whose user call (a read or a transform) just threw <paramref name="error"/>, a sample
    /// error: the call is made again while <see cref="LoaderOptions.Retry"/> allows, after its backoff; then the sample is
    /// rejected (<see cref="Reject"/>): under Skip it becomes a dead letter on <paramref name="deadLetters"/> and no value
    /// comes back, under Fail a <see cref="DataLoaderException"/> is thrown. The first attempt is the caller's own, so a
    /// sample that does not fail costs nothing here.
    /// </summary>
    /// <returns>Whether a retry succeeded, and its value.</returns>
    public async ValueTask<(bool Succeeded, TResult Value)> RetryAsync<TState, TResult, TItem>(
        Exception error, Func<TState, ValueTask<TResult>> call, TState state, PipelineStage stage, long index, Chunk<TItem> deadLetters, InFlightWork.Slot slot)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (!ShouldRetry(error, attempt, deadLetters.Epoch, index, out var backoff))
            {
                Reject(deadLetters, stage, index, error, attempt);
                return (false, default!);
            }

            await BackoffAsync(backoff).ConfigureAwait(false);
            try
            {
                slot.At(stage, index);
                return (true, await call(state).ConfigureAwait(false));
            }
            catch (Exception ex) when (IsSampleError(ex))
            {
                error = ex;
            }
        }
    }

    /// <summary>Handles a sample that failed for good, after <paramref name="attempts"/> attempts.</summary>
    public void Reject<T>(Chunk<T> chunk, PipelineStage stage, long index, Exception error, int attempts = 1)
    {
        var epoch = chunk.Epoch;
        var policy = options.PolicyFor(stage);
        LoaderMetrics.Errors.Add(1, new TagList { { LoaderMetrics.PipelineTag, options.Name }, { LoaderMetrics.StageTag, stage.Tag() }, { LoaderMetrics.PolicyTag, LoaderMetrics.PolicyTagValue(policy) } });
        if (policy == ErrorPolicy.Fail)
        {
            throw Fail(stage, epoch, index, error, attempts);
        }

        chunk.AddDeadLetter(new DeadLetter(stage, epoch, index, error) { Attempts = attempts });
    }

    /// <summary>The error of a sample that fails the loader; it is counted as failed.</summary>
    public DataLoaderException Fail(PipelineStage stage, long epoch, long index, Exception error, int attempts = 1)
    {
        accounting.Add(epoch, Tally.Failed, 1);
        return new DataLoaderException(stage, epoch, index, error, attempts);
    }
}
