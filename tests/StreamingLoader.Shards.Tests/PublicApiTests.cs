using StreamingLoader.Testing;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// The public surfaces of StreamingLoader.Shards, StreamingLoader.Parquet and StreamingLoader.WebDataset, each compared
/// with its checked-in baseline (PublicApi.{assembly name}.txt beside this file) so that every API change is deliberate.
/// After an intended change, run the tests with <c>UPDATE_PUBLIC_API=1</c> and commit the new baselines with the change
/// (tests/Shared/PublicApiBaseline.cs describes the surface the same way for every library).
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicSurface_Shards_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(ShardSource).Assembly);

    [Fact]
    public void PublicSurface_Parquet_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(Parquet.ParquetDataset).Assembly);

    [Fact]
    public void PublicSurface_WebDataset_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(WebDataset.TarDataset).Assembly);
}
