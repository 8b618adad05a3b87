using StreamingLoader.Samples.LiveTail;
using LiveTailSample = StreamingLoader.Samples.LiveTail.Program;

namespace StreamingLoader.Samples.Tests;

public sealed class LiveTailSampleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("livetail-sample").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task LiveTail_TwoRunsTheSecondResumed_SeeEveryEventOnceAcrossRotationsAndLearn()
    {
        var options = new LiveTailOptions(_directory, Batches: 150, BatchSize: 64, ReportEvery: 50, RotateEvery: 2000);
        var output = new StringWriter();

        var first = await LiveTailSample.RunAsync(options, output);
        var second = await LiveTailSample.RunAsync(options, output);

        // The producer rotated the file several times while the trainer followed it and between the runs.
        Assert.True(Directory.GetFiles(_directory, "events.jsonl.*").Length >= 4, output.ToString());
        var ids = first.Ids.Concat(second.Ids).ToList();
        Assert.Equal(Enumerable.Range(0, 2 * 150 * 64).Select(i => (long)i), ids);
        Assert.Contains("Resuming", output.ToString());
        Assert.True(second.LastAccuracy > 0.9, output.ToString());
    }
}
