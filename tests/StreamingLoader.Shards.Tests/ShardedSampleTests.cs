using System.Diagnostics;

namespace StreamingLoader.Shards.Tests;

/// <summary>samples/ShardedDataset against s3rver: Fashion-MNIST as 16 Parquet shards, 2 ranks in 2 processes.</summary>
public sealed class ShardedSampleTests : IAsyncLifetime
{
    private readonly S3Server _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task ShardedDataset_TwoRanks_EachReadsHalfAndTheUnionIsExact()
    {
        var program = Path.Combine(
            AppContext.BaseDirectory.Replace(Path.Combine("tests", "StreamingLoader.Shards.Tests", "bin"), Path.Combine("samples", "ShardedDataset", "bin"), StringComparison.Ordinal),
            "ShardedDataset.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { program, "--s3-endpoint", _server.Endpoint.ToString() })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var log = await output + await error;

        Assert.True(process.ExitCode == 0, log);
        Assert.Contains("Wrote 60000 Fashion-MNIST images as 16 Parquet shards", log);
        Assert.Contains("Rank 0 of 2: 30000 samples in 469 batches", log);
        Assert.Contains("Rank 1 of 2: 30000 samples in 469 batches", log);
        Assert.Contains("Union check: 30000 + 30000 = 60000 samples, 60000 distinct of 60000: every sample exactly once", log);
    }
}
