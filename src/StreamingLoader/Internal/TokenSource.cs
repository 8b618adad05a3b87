namespace StreamingLoader.Internal;

/// <summary>A document's token ids.</summary>
internal delegate ReadOnlySpan<int> TokenSource<T>(T document);
