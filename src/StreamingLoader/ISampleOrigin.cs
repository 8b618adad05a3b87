namespace StreamingLoader;

/// <summary>
/// A sample that knows where it came from (a file and line, a file): the loader starts the message of an error the
/// collator raises on it with that origin, so a rejected sample is named where it can be found.
/// </summary>
/// <remarks>
/// Transforms name their own errors; this serves the stages after them (collation: a sequence longer than its maximum
/// under <see cref="Batching.Truncation.Reject"/>, fields that disagree with the layout). <see cref="Sources.TextLine"/>
/// and the text package's tokenized text implement it.
/// </remarks>
public interface ISampleOrigin
{
    /// <summary>Gets where the sample came from, as <c>file:line</c> or <c>file</c>; null when unknown.</summary>
    string? Origin { get; }
}
