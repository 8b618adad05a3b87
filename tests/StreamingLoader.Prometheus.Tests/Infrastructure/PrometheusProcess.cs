using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) on a free loopback port, with its own temporary
/// TSDB directory, started from a given configuration and killed on dispose.
/// </summary>
internal sealed class PrometheusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly StringBuilder _log;
    private readonly HttpClient _http;

    private PrometheusProcess(Process process, DirectoryInfo directory, StringBuilder log, Uri baseUri)
    {
        _process = process;
        _directory = directory;
        _log = log;
        BaseUri = baseUri;
        _http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseUri { get; }

    public string ConfigPath => Path.Combine(_directory.FullName, "prometheus.yml");

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

    public static async Task<PrometheusProcess> StartAsync(string configYaml, CancellationToken cancellationToken = default)
    {
        var binary = Tools.Find("prometheus");
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("streamingloader-prometheus-");
            var configPath = Path.Combine(directory.FullName, "prometheus.yml");
            await File.WriteAllTextAsync(configPath, configYaml, cancellationToken);
            var port = Tools.FreeLoopbackPort();
            var start = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory.FullName,
            };
            start.ArgumentList.Add($"--config.file={configPath}");
            start.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory.FullName, "data")}");
            start.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
            start.ArgumentList.Add("--storage.tsdb.retention.time=1h");
            start.ArgumentList.Add("--log.level=info");

            var log = new StringBuilder();
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Append(log, e.Data);
            process.ErrorDataReceived += (_, e) => Append(log, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var server = new PrometheusProcess(process, directory, log, new Uri($"http://127.0.0.1:{port}/"));
            try
            {
                await server.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
                return server;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                last = new InvalidOperationException($"Prometheus did not become ready on port {port}. Its log:\n{server.Log}", ex);
                await server.DisposeAsync();
            }
        }

        throw last!;
    }

    /// <summary>Runs an instant query; returns the whole response (<c>status</c>, <c>data</c> or <c>error</c>).</summary>
    /// <summary>Runs an instant query, now or at <paramref name="at"/> (queries compared with each other need one time: a scrape may land between them).</summary>
    public async Task<JsonElement> QueryAsync(string promql, DateTimeOffset? at = null, CancellationToken cancellationToken = default)
    {
        using var content = new FormUrlEncodedContent(at is { } time
            ? [new("query", promql), new("time", (time.ToUnixTimeMilliseconds() / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : [new("query", promql)]);
        using var response = await _http.PostAsync("api/v1/query", content, cancellationToken);
        return await ReadJsonAsync(response, cancellationToken);
    }

    /// <summary>Runs a range query over the last <paramref name="range"/> at <paramref name="step"/>.</summary>
    public async Task<JsonElement> QueryRangeAsync(string promql, TimeSpan range, TimeSpan step, CancellationToken cancellationToken = default)
    {
        var end = DateTimeOffset.UtcNow;
        var start = end - range;
        using var content = new FormUrlEncodedContent(
        [
            new("query", promql),
            new("start", start.ToUnixTimeMilliseconds() / 1000.0 + string.Empty),
            new("end", end.ToUnixTimeMilliseconds() / 1000.0 + string.Empty),
            new("step", step.TotalSeconds + "s"),
        ]);
        using var response = await _http.PostAsync("api/v1/query_range", content, cancellationToken);
        return await ReadJsonAsync(response, cancellationToken);
    }

    /// <summary>The series matching a selector (<c>/api/v1/series</c>), as label sets.</summary>
    public async Task<IReadOnlyList<Dictionary<string, string>>> SeriesAsync(string selector, CancellationToken cancellationToken = default)
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds();
        using var content = new FormUrlEncodedContent([new("match[]", selector), new("start", start.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        using var response = await _http.PostAsync("api/v1/series", content, cancellationToken);
        var json = await ReadJsonAsync(response, cancellationToken);
        Assert.True(json.GetProperty("status").GetString() == "success", $"series {selector}: {json}");
        return [.. json.GetProperty("data").EnumerateArray().Select(series => series.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty))];
    }

    /// <summary>GET on any API path (relative to the server root), parsed as JSON.</summary>
    public async Task<JsonElement> GetJsonAsync(string pathAndQuery, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(pathAndQuery, cancellationToken);
        return await ReadJsonAsync(response, cancellationToken);
    }

    /// <summary>The instant-vector samples of a successful query: labels and value.</summary>
    public static IReadOnlyList<(Dictionary<string, string> Labels, double Value)> Vector(JsonElement response)
    {
        Assert.True(response.GetProperty("status").GetString() == "success", response.ToString());
        var data = response.GetProperty("data");
        if (data.GetProperty("resultType").GetString() == "scalar")
        {
            return [(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")[1].GetString()))];
        }

        return
        [
            .. data.GetProperty("result").EnumerateArray().Select(r => (
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty),
                ParseValue(r.GetProperty("value")[1].GetString()))),
        ];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static double ParseValue(string? text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(text!, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Prometheus answered {(int)response.StatusCode} with non-JSON: {body}", ex);
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited with code {_process.ExitCode}.");
            }

            try
            {
                using var response = await _http.GetAsync("-/ready", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("Prometheus was not ready in time.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}

/// <summary>Finding the Prometheus tools and free ports.</summary>
internal static class Tools
{
    /// <summary>The path of a program on PATH; fails the test with how to install it when it is missing.</summary>
    public static string Find(string program)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"'{program}' is not on PATH. Install Debian's Prometheus: apt-get install -y prometheus");
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a program to completion with optional standard input; returns exit code and output.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(string program, IEnumerable<string> arguments, string? standardInput = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(Find(program))
        {
            RedirectStandardInput = standardInput is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
