using StreamingLoader.Text;

namespace StreamingLoader.Samples.TextClassification;

/// <summary>A tokenized fortune and its category: the loader disposes it (its ids go back to the pool) once collated.</summary>
/// <param name="Text">The fortune's GPT-2 ids.</param>
/// <param name="Label">The category's index.</param>
public readonly record struct Fortune(TokenizedText Text, int Label) : IDisposable
{
    /// <summary>Returns the ids' buffer to the tokenizer's pool.</summary>
    public void Dispose() => Text.Dispose();
}
