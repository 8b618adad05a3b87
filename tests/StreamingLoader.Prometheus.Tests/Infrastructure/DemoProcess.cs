using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// A second training process: the <c>streamingloader demo</c> command (a real pipeline named <c>demo</c> and a CPU
/// model) serving metrics on its own port through <see cref="PrometheusMetricsServer"/>, until disposed.
/// </summary>
internal sealed class DemoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private DemoProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

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

    /// <summary>Starts the demo with metrics on a free loopback port and returns once it reports the endpoint.</summary>
    public static async Task<DemoProcess> StartAsync()
    {
        var port = Tools.FreeLoopbackPort();
        // The dotnet that runs the tests (the SDK sets DOTNET_HOST_PATH for its child processes), else the one on PATH.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : Tools.Find("dotnet");
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { CliAssembly(), "demo", "--epochs", "100000", "--samples", "20000", "--features", "16", "--workers", "auto", "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        var demo = new DemoProcess(Process.Start(start)!, port);
        demo._process.OutputDataReceived += (_, e) => demo.Append(e.Data);
        demo._process.ErrorDataReceived += (_, e) => demo.Append(e.Data);
        demo._process.BeginOutputReadLine();
        demo._process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!demo.Output.Contains($"metrics: http://127.0.0.1:{port}/metrics", StringComparison.Ordinal))
        {
            if (demo._process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                await demo.DisposeAsync();
                throw new InvalidOperationException($"The demo process did not serve metrics on port {port}:\n{demo.Output}");
            }

            await Task.Delay(100);
        }

        return demo;
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

    /// <summary>The CLI built beside this test assembly's configuration (the test project references it).</summary>
    private static string CliAssembly()
    {
        var configuration = typeof(DemoProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(Repository.Root, "src", "StreamingLoader.Cli", "bin", configuration, "net10.0", "StreamingLoader.Cli.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/StreamingLoader.Cli ({configuration}) first.", path);
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
