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
