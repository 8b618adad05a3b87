namespace StreamingLoader.Text;

/// <summary>A text file that holds one document, with its label when it has one (its class folder's index).</summary>
/// <param name="Path">The file.</param>
/// <param name="Label">The label, or <see langword="null"/>.</param>
public readonly record struct TextFile(string Path, long? Label = null);
