namespace StreamingLoader;

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
