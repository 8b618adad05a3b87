using StreamingLoader.Stress;

namespace StreamingLoader.Tests;

/// <summary>
/// Every path of the stress tool (tests/StreamingLoader.Stress: the error and shutdown paths that once hung a few runs in
/// a hundred) at 1, 2, 4 and 8 workers, 16 runs each (enough to cycle the resume path through all its modes). A run that
/// does not end within the deadline is a hang; a run that throws ended wrong; either fails the test. The long run is
/// <c>dotnet run --project tests/StreamingLoader.Stress -c Release -- stress</c> (its figure is in
/// src/StreamingLoader/README.md).
/// </summary>
public class StressPathTests
{
    private const int Runs = 16;

    // Generous for a run that takes milliseconds: a loaded CI machine must not turn slowness into a "hang".
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static TheoryData<string, int> PathsAndWorkers()
    {
        var data = new TheoryData<string, int>();
        foreach (var (name, _) in StressPaths.All)
        {
            foreach (var workers in new[] { 1, 2, 4, 8 })
            {
                data.Add(name, workers);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndWorkers))]
    public async Task StressPath_SixteenRuns_NoHangAndNoWrongOutcome(string path, int workers)
    {
        var run = StressPaths.All.Single(p => p.Name == path).Run;

        var result = await StressRunner.RepeatAsync(run, Runs, workers, Deadline, stopAtFirst: true);

        Assert.True(
            result.Hung == 0 && result.Failed == 0 && result.Ran == Runs,
            $"{path} at {workers} workers: {result.Ran} runs, {result.Hung} hangs, {result.Failed} wrong outcomes. First: {result.FirstError}");
    }

    [Fact]
    public void StressPaths_All_ElevenPathsEachNamedOnce()
    {
        Assert.Equal(11, StressPaths.All.Count);
        Assert.Equal(StressPaths.All.Count, StressPaths.All.Select(p => p.Name).Distinct().Count());
    }
}
