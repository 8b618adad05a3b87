using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using RabbitMQ.Client;

namespace StreamingLoader.RabbitMQ.Tests;

/// <summary>
/// Debian's rabbitmq-server on loopback with its own node name, AMQP and distribution ports, data and log
/// directories and no plugins; it can be restarted on the same data (durable queues and persistent messages
/// survive) and is stopped on dispose. The tests use it as a collection fixture (BrokerTests.cs); the RabbitMQ
/// benchmark compiles this file alone.
/// </summary>
public sealed partial class RabbitMqBroker
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("streamingloader-rabbitmq-");
    private readonly StringBuilder _log = new();
    private readonly string _node = $"sltest{Environment.ProcessId}x{Random.Shared.Next(100_000)}@localhost";
    private readonly int _port = FreePort();
    private readonly int _distributionPort = FreePort();
    private Process? _process;

    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{_port}/");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _directory.Delete(recursive: true);
    }

    /// <summary>Stops the broker and starts it again on the same data and ports.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>Messages ready in a queue (not delivered to any consumer).</summary>
    public async Task<uint> ReadyCountAsync(string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = Uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    public async Task StartAsync()
    {
        if (!File.Exists(Server))
        {
            throw new InvalidOperationException($"{Server} is missing: install Debian's rabbitmq-server (scripts/test.sh does).");
        }

        var home = Directory.CreateDirectory(Path.Combine(_directory.FullName, "home")).FullName;
        var plugins = Path.Combine(_directory.FullName, "enabled_plugins");
        await File.WriteAllTextAsync(plugins, "[].");
        var start = new ProcessStartInfo(Server) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _directory.FullName };
        var environment = start.Environment;
        environment["HOME"] = home;
        environment["RABBITMQ_NODENAME"] = _node;
        environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        environment["RABBITMQ_NODE_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["RABBITMQ_DIST_PORT"] = _distributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory.FullName, "mnesia");
        environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory.FullName, "log");
        environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = plugins;
        environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory.FullName, "none");
        environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_directory.FullName, "none-advanced.config");
        environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_directory.FullName, "none-env.conf");
        environment["RABBITMQ_PID_FILE"] = Path.Combine(_directory.FullName, "rabbitmq.pid");

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready when an AMQP connection opens: the port alone opens before the broker accepts logins.
        var clock = Stopwatch.StartNew();
        var factory = new ConnectionFactory { Uri = Uri, RequestedConnectionTimeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"rabbitmq-server exited with {process.ExitCode}. Its output:\n{Log}");
            }

            try
            {
                await using var connection = await factory.CreateConnectionAsync();
                return;
            }
            catch (Exception ex) when (clock.Elapsed < TimeSpan.FromSeconds(90) && ex is not OutOfMemoryException)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task StopAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        // SIGTERM to the start script: it stops the Erlang node cleanly (and with it the node's children).
        if (!process.HasExited)
        {
            _ = Kill(process.Id, 15);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
