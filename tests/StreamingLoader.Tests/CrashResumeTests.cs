using System.Diagnostics;

namespace StreamingLoader.Tests;

/// <summary>
/// Resume after a real crash: a training process that checkpoints every few batches is killed with SIGKILL mid-epoch,
/// started again from its checkpoint, and the samples it delivered before the checkpoint plus those after the resume
/// are exactly the epoch.
/// </summary>
public sealed class CrashResumeTests : IDisposable
{
    private const int Samples = 4_000;
    private readonly string _directory = Directory.CreateTempSubdirectory("streamingloader-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("ordered")]
    [InlineData("unordered")]
    public async Task KilledMidEpoch_ResumedFromCheckpoint_EveryLabelExactlyOnce(string mode)
    {
        var log = Path.Combine(_directory, "delivered.log");
        using (var first = Start(mode))
        {
            var deadline = Stopwatch.StartNew();
            while (LineCount(log) < Samples / 4 || !File.Exists(Path.Combine(_directory, "checkpoint.txt")))
            {
                if (first.HasExited)
                {
                    Assert.Fail("the training process ended before it could be killed: " + await first.StandardError.ReadToEndAsync());
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the training process made no progress");
                await Task.Delay(10);
            }

            first.Kill(); // SIGKILL: no finally block, no flush, no dispose runs in the child
            await first.WaitForExitAsync();
        }

        var beforeKill = LineCount(log);
        Assert.InRange(beforeKill, Samples / 4, Samples - 1);

        using (var second = Start(mode))
        {
            await second.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.True(second.ExitCode == 0, await second.StandardError.ReadToEndAsync());
        }

        var labels = File.ReadAllLines(log).Select(long.Parse).ToList();
        Assert.Equal(Enumerable.Range(0, Samples).Select(i => (long)i), labels.Order());
    }

    private Process Start(string mode)
    {
        var program = Path.Combine(
            AppContext.BaseDirectory.Replace("StreamingLoader.Tests/bin", "StreamingLoader.CrashChild/bin", StringComparison.Ordinal),
            "StreamingLoader.CrashChild.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { program, _directory, Samples.ToString(System.Globalization.CultureInfo.InvariantCulture), mode })
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static int LineCount(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var count = 0;
        while (reader.ReadLine() is not null)
        {
            count++;
        }

        return count;
    }
}
