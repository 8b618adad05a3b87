namespace StreamingLoader.Text;

/// <summary>What a <see cref="TextTokenizer"/> does with text that is not valid UTF-8.</summary>
/// <remarks>
/// Invalid text is a byte sequence that is not UTF-8 (a stray continuation byte, a truncated or overlong sequence, an
/// encoded surrogate, a value above U+10FFFF) or, in a JSON string or a .NET string, a surrogate without its pair
/// (<c>"\uD800"</c>).
/// </remarks>
public enum InvalidUtf8
{
    /// <summary>
    /// Reject the sample: an <see cref="InvalidDataException"/> names it and the byte offset of the first invalid
    /// sequence (a dead letter under <see cref="ErrorPolicy.Skip"/>). The default: a corpus with broken encoding is
    /// usually worth knowing about.
    /// </summary>
    Reject,

    /// <summary>
    /// Replace each maximal invalid subsequence with U+FFFD, as the WHATWG decoder does (Node's
    /// <c>TextDecoder</c>, browsers, <c>Buffer.toString</c>, .NET's <c>Encoding.UTF8</c>), and a lone surrogate with
    /// U+FFFD as JavaScript's <c>TextEncoder</c> does. The ids are then those tiktoken's JavaScript <c>encode</c>
    /// gives for the text decoded that way.
    /// </summary>
    Replace,
}
