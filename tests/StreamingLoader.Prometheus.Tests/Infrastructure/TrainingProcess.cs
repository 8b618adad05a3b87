using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// A training process beside the tests: the CLI (<c>streamingloader demo</c>: a real pipeline named <c>demo</c> and a
/// CPU model) or a sample, serving metrics on its own loopback port through <see cref="PrometheusMetricsServer"/>,
/// optionally pinned to some CPUs with <c>taskset</c>; killed when disposed if it has not ended.
/// </summary>
internal sealed class TrainingProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TrainingProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Gets the process's target, the <c>instance</c> label of its series.</summary>
    public string Instance => $"127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

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

    /// <summary>The fixture's second process: the demo, epoch after epoch, its workers autotuned (the dashboard's Autotune row).</summary>
    public static Task<TrainingProcess> StartDemoAsync() =>
        StartCliAsync(["demo", "--epochs", "100000", "--samples", "20000", "--features", "16", "--workers", "auto"]);

    /// <summary>Starts the CLI with <paramref name="arguments"/> and <c>--metrics-port</c> on a free port; returns once it serves metrics.</summary>
    public static Task<TrainingProcess> StartCliAsync(IEnumerable<string> arguments, string? cpus = null) =>
        StartAsync(BuiltAssembly(Path.Combine("src", "StreamingLoader.Cli"), "StreamingLoader.Cli"), arguments, cpus);

    /// <summary>Starts a sample (samples/NAME) with <paramref name="arguments"/> and <c>--metrics-port</c>; returns once it serves metrics.</summary>
    public static Task<TrainingProcess> StartSampleAsync(string sample, IEnumerable<string> arguments) =>
        StartAsync(BuiltAssembly(Path.Combine("samples", sample), sample), arguments, cpus: null);

    /// <summary>Waits for the process to end by itself; fails the test after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The process did not end within {timeout.TotalSeconds:0} s. Its output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static async Task<TrainingProcess> StartAsync(string assembly, IEnumerable<string> arguments, string? cpus)
    {
        var port = Tools.FreeLoopbackPort();

        // The dotnet that runs the tests (the SDK sets DOTNET_HOST_PATH for its child processes), else the one on PATH.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : Tools.Find("dotnet");
        var start = new ProcessStartInfo(cpus is null ? dotnet : Tools.Find("taskset"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            start.ArgumentList.Add("--cpu-list");
            start.ArgumentList.Add(cpus);
            start.ArgumentList.Add(dotnet);
        }

        foreach (var argument in arguments.Prepend(assembly).Append("--metrics-port").Append(port.ToString(CultureInfo.InvariantCulture)))
        {
            start.ArgumentList.Add(argument);
        }

        var training = new TrainingProcess(Process.Start(start)!, port);
        training._process.OutputDataReceived += (_, e) => training.Append(e.Data);
        training._process.ErrorDataReceived += (_, e) => training.Append(e.Data);
        training._process.BeginOutputReadLine();
        training._process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!training.Output.Contains($"metrics: http://127.0.0.1:{port}/metrics", StringComparison.Ordinal))
        {
            if (training._process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                await training.DisposeAsync();
                throw new InvalidOperationException($"{Path.GetFileName(assembly)} did not serve metrics on port {port}:\n{training.Output}");
            }

            await Task.Delay(100);
        }

        return training;
    }

    /// <summary>A project's assembly built beside this test assembly's configuration (the test project builds it).</summary>
    private static string BuiltAssembly(string project, string name)
    {
        var configuration = typeof(TrainingProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(Repository.Root, project, "bin", configuration, "net10.0", name + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} ({configuration}) first.", path);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
