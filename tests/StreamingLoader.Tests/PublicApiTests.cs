using StreamingLoader.Testing;

namespace StreamingLoader.Tests;

/// <summary>
/// The core's public surface, compared with the checked-in baseline (PublicApi.{assembly name}.txt beside this file) so
/// that every API change is deliberate. After an intended change, run the tests with <c>UPDATE_PUBLIC_API=1</c> and
/// commit the new baseline with the change (tests/Shared/PublicApiBaseline.cs describes the surface the same way for
/// every library).
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicSurface_MatchesTheBaseline() => PublicApiBaseline.Verify(typeof(DataLoader).Assembly);
}
