using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace StreamingLoader.RabbitMQ.Tests;

/// <summary>A trainer process (StreamingLoader.RabbitMQ.TestConsumer) writing the labels it consumed to a file.</summary>
internal sealed class ConsumerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConsumerProcess(Uri broker, string queue, string outputFile, int batchSize, int idleMilliseconds, int workMilliseconds = 0)
    {
        OutputFile = outputFile;
        var program = Path.Combine(
            AppContext.BaseDirectory.Replace("StreamingLoader.RabbitMQ.Tests/bin", "StreamingLoader.RabbitMQ.TestConsumer/bin", StringComparison.Ordinal),
            "StreamingLoader.RabbitMQ.TestConsumer.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new object[] { program, broker, queue, outputFile, batchSize, idleMilliseconds, workMilliseconds })
        {
            start.ArgumentList.Add(Convert.ToString(argument, CultureInfo.InvariantCulture)!);
        }

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

    public Task Ready => _ready.Task.WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>The labels written so far (a line being written when read is left out).</summary>
    public List<long> Labels() => [.. Lines().Select(line => line.Label)];

    /// <summary>The labels of the messages the broker redelivered to this consumer.</summary>
    public List<long> RedeliveredLabels() => [.. Lines().Where(line => line.Redelivered).Select(line => line.Label)];

    private IEnumerable<(long Label, bool Redelivered)> Lines()
    {
        if (!File.Exists(OutputFile))
        {
            return [];
        }

        using var stream = new FileStream(OutputFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(stream).ReadToEnd();
        var complete = text[..(text.LastIndexOf('\n') + 1)];
        return [.. complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' '))
            .Select(parts => (long.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 && parts[1] == "redelivered"))];
    }

    public async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _process.WaitForExitAsync(timeout.Token);
        Assert.True(_process.ExitCode == 0, $"The consumer exited with {_process.ExitCode}:\n{Output}");
    }

    /// <summary>kill -9: no chance to acknowledge anything.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line == "ready")
        {
            _ready.TrySetResult();
        }
    }
}
