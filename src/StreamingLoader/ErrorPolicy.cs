namespace StreamingLoader;

/// <summary>What the loader does with a sample whose read, transform or collation throws (after any retries).</summary>
public enum ErrorPolicy
{
    /// <summary>Fault the pipeline: the consumer gets the error with the sample's index (the default, as in PyTorch).</summary>
    Fail,

    /// <summary>Drop the sample, record it in <see cref="DataLoader.DeadLetters"/> with its reason, and go on.</summary>
    Skip,
}
