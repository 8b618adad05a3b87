namespace StreamingLoader.Shards;

/// <summary>Part of an epoch read at one world size: every rank of <paramref name="WorldSize"/> read <paramref name="Batches"/> batches.</summary>
/// <param name="WorldSize">The number of ranks that read this part.</param>
/// <param name="Batches">The batches each rank delivered in it.</param>
public sealed record ElasticSegment(int WorldSize, int Batches);
