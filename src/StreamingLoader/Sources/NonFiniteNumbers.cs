namespace StreamingLoader.Sources;

/// <summary>
/// What a JSON Lines collator does with <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> (which Python's
/// <c>json.dumps</c> writes although JSON has no such numbers) and with numbers beyond the Float32 range.
/// </summary>
/// <remarks>
/// The policy covers the features array and the whole value of a field the collator ignores; a NaN nested deeper
/// in an ignored field (<c>{"meta":[NaN]}</c>) is not JSON and rejects the line whatever the policy.
/// </remarks>
public enum NonFiniteNumbers
{
    /// <summary>The line is rejected with its file, line and column (the default): a NaN in training data is usually a bug upstream.</summary>
    Reject = 0,

    /// <summary>The values are written as float NaN or ±Infinity; numbers beyond the Float32 range become ±Infinity.</summary>
    Allow = 1,

    /// <summary>
    /// As <see cref="Allow"/>, and each value is counted: <see cref="EpochStatistics.NonFiniteValues"/> and the
    /// <c>streamingloader.values.nonfinite</c> metric say how many reached training.
    /// </summary>
    Count = 2,
}
