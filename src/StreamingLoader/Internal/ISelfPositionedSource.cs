namespace StreamingLoader.Internal;

/// <summary>
/// A live source whose position lives in the source (a tail's <see cref="TailPosition"/>, a folder watch's consumed
/// files, a broker's acknowledgements), not in the loader: a <see cref="LoaderState"/> cannot resume it, and using
/// both would skip or repeat what lies between them.
/// </summary>
internal interface ISelfPositionedSource
{
    /// <summary>Gets what to resume from instead, for the error that refuses a <see cref="LoaderState"/>.</summary>
    string PositionName { get; }
}
