using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace StreamingLoader.Shards.Tests;

/// <summary>A rank process (StreamingLoader.Shards.TestRank) started with torchrun's variables; it writes the labels it read to a file.</summary>
internal sealed class RankProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public RankProcess(World world, string location, Uri? endpoint, string cache, long cacheBytes, int workers, string outputFile, int prefetch = 2)
    {
        OutputFile = outputFile;
        var program = Path.Combine(
            AppContext.BaseDirectory.Replace("StreamingLoader.Shards.Tests/bin", "StreamingLoader.Shards.TestRank/bin", StringComparison.Ordinal),
            "StreamingLoader.Shards.TestRank.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new object[] { program, location, endpoint?.ToString() ?? "-", cache, cacheBytes, workers, outputFile, prefetch })
        {
            start.ArgumentList.Add(Convert.ToString(argument, CultureInfo.InvariantCulture)!);
        }

        start.Environment["RANK"] = world.Rank.ToString(CultureInfo.InvariantCulture);
        start.Environment["WORLD_SIZE"] = world.WorldSize.ToString(CultureInfo.InvariantCulture);
        start.Environment["LOCAL_RANK"] = world.LocalRank.ToString(CultureInfo.InvariantCulture);
        start.Environment["LOCAL_WORLD_SIZE"] = world.LocalWorldSize.ToString(CultureInfo.InvariantCulture);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string OutputFile { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public List<long> Labels() => [.. File.ReadAllLines(OutputFile).Select(l => long.Parse(l, CultureInfo.InvariantCulture))];

    public async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await _process.WaitForExitAsync(timeout.Token);
        Assert.True(_process.ExitCode == 0, $"The rank exited with {_process.ExitCode}:\n{Output}");
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
