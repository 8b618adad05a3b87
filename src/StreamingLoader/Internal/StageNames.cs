namespace StreamingLoader.Internal;

/// <summary>The lower-case name of each <see cref="PipelineStage"/>, as metrics label it; made once, so labelling allocates nothing.</summary>
internal static class StageNames
{
    private static readonly string[] Names = [.. Enum.GetValues<PipelineStage>().Select(s => s.ToString().ToLowerInvariant())];

    public static string Tag(this PipelineStage stage) => Names[(int)stage];
}
