using StreamingLoader.Testing;

namespace StreamingLoader.Samples.Tests;

/// <summary>
/// The public surfaces of the libraries the samples stand on (StreamingLoader.Datasets, StreamingLoader.CpuTraining and
/// StreamingLoader.Training, which have no test project of their own), each compared with the checked-in baseline
/// (PublicApi.{assembly name}.txt beside this file) so that every API change is deliberate. After an intended change,
/// run the tests with <c>UPDATE_PUBLIC_API=1</c> and commit the new baseline with the change
/// (tests/Shared/PublicApiBaseline.cs describes the surface the same way for every library).
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicSurface_Datasets_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(StreamingLoader.Datasets.FashionMnist).Assembly);

    [Fact]
    public void PublicSurface_CpuTraining_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(StreamingLoader.CpuTraining.CpuModels).Assembly);

    [Fact]
    public void PublicSurface_Training_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(StreamingLoader.Training.EpochResult).Assembly);
}
