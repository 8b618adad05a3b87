namespace StreamingLoader.Internal;

/// <summary>The stage names, as metrics and errors report them.</summary>
internal static class Stages
{
    public const string Source = "source";
    public const string Read = "read";
    public const string Transform = "transform";
    public const string Shuffle = "shuffle";
    public const string Collate = "collate";
    public const string Prefetch = "prefetch";
}
