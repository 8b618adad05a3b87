namespace StreamingLoader;

/// <summary>
/// A sample or the source failed in a pipeline stage. The message names the stage, the epoch and the sample's
/// index (or the source position); <see cref="Exception.InnerException"/> is the original exception.
/// </summary>
public sealed class DataLoaderException : Exception
{
    /// <summary>Creates an exception for a failed sample.</summary>
    public DataLoaderException(PipelineStage stage, long epoch, long sampleIndex, Exception innerException)
        : this(stage, epoch, sampleIndex, innerException, attempts: 1)
    {
    }

    /// <summary>Creates an exception for a sample that failed <paramref name="attempts"/> times (see <see cref="RetryPolicy"/>).</summary>
    internal DataLoaderException(PipelineStage stage, long epoch, long sampleIndex, Exception innerException, int attempts)
        : base($"Stage '{stage.Tag()}' failed on sample {sampleIndex} of epoch {epoch}{(attempts > 1 ? $" after {attempts} attempts" : "")}: {innerException?.Message}", innerException)
    {
        Stage = stage;
        Epoch = epoch;
        SampleIndex = sampleIndex;
    }

    /// <summary>Creates an exception with a message of its own.</summary>
    public DataLoaderException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Stage = PipelineStage.Source;
        SampleIndex = -1;
    }

    /// <summary>Creates an exception for a failed source, at an epoch.</summary>
    internal DataLoaderException(long epoch, string message, Exception innerException)
        : base(message, innerException)
    {
        Stage = PipelineStage.Source;
        Epoch = epoch;
        SampleIndex = -1;
    }

    /// <summary>Creates an exception.</summary>
    public DataLoaderException()
        : this("The data loader failed.")
    {
    }

    /// <summary>Creates an exception.</summary>
    public DataLoaderException(string message)
        : this(message, null)
    {
    }

    /// <summary>Gets the stage that failed (source, read, transform, shuffle, collate).</summary>
    public PipelineStage Stage { get; }

    /// <summary>Gets the epoch in which it failed.</summary>
    public long Epoch { get; }

    /// <summary>Gets the dataset index or stream position of the failed sample; -1 when none applies.</summary>
    public long SampleIndex { get; }
}

/// <summary>A sample dropped under <see cref="ErrorPolicy.Skip"/>, with the reason.</summary>
/// <param name="Stage">The stage where it failed.</param>
/// <param name="Epoch">The epoch.</param>
/// <param name="SampleIndex">The dataset index or stream position.</param>
/// <param name="Error">The exception the stage threw.</param>
public sealed record DeadLetter(PipelineStage Stage, long Epoch, long SampleIndex, Exception Error)
{
    /// <summary>Gets how many times the sample was tried: more than 1 when a <see cref="RetryPolicy"/> retried it.</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>Gets the reason: the error's message, and the attempts when there were several.</summary>
    public string Reason => Attempts > 1 ? $"{Error.Message} (after {Attempts} attempts)" : Error.Message;
}
