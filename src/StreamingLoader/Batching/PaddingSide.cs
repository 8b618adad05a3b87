namespace StreamingLoader.Batching;

/// <summary>The side of a sample that padding goes on.</summary>
public enum PaddingSide
{
    /// <summary>Data first, then padding.</summary>
    Right,

    /// <summary>Padding first, then data.</summary>
    Left,
}
