using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// npm's s3rver 3.7, an S3-compatible server on loopback, started by the tests in a folder of their own. scripts/test.sh
/// installs it into ~/.cache/streamingloader/s3rver; when it is missing there the fixture installs it itself.
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    private static readonly string InstallFolder = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "streamingloader", "s3rver");
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("streamingloader-s3rver-");
    private readonly StringBuilder _log = new();
    private readonly int _port = FreePort();
    private Process? _process;

    public Uri Endpoint => new($"http://127.0.0.1:{_port}");

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

    public async Task InitializeAsync()
    {
        await EnsureInstalledAsync();
        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        Stop();
        await Task.Yield();
        _data.Delete(recursive: true);
    }

    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint.ToString(),
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public ShardSourceOptions SourceOptions(string cacheDirectory, string suffix = ".parquet") => new()
    {
        Suffix = suffix,
        S3ServiceUrl = Endpoint,
        S3AccessKey = AccessKey,
        S3SecretKey = SecretKey,
        CacheDirectory = cacheDirectory,
    };

    /// <summary>Creates a bucket and uploads every file of <paramref name="folder"/> under <paramref name="prefix"/>.</summary>
    public async Task UploadAsync(string bucket, string prefix, string folder)
    {
        using var client = Client();
        try
        {
            await client.PutBucketAsync(bucket);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
        }

        foreach (var file in Directory.GetFiles(folder))
        {
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = prefix + Path.GetFileName(file), FilePath = file, UseChunkEncoding = false });
        }
    }

    /// <summary>
    /// Flips the bytes at <paramref name="offset"/> of a stored object in the server's own folder, as bit rot would:
    /// its length and listed ETag (the MD5 of what was uploaded) stay as they were.
    /// </summary>
    public void CorruptStoredObject(string bucket, string key, long offset, int count)
    {
        using var file = new FileStream(Path.Combine(_data.FullName, bucket, key + "._S3rver_object"), FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[count];
        file.Position = offset;
        file.ReadExactly(bytes);
        file.Position = offset;
        file.Write([.. bytes.Select(b => (byte)~b)]);
    }

    /// <summary>kill -9, then a new server on the same folder and port.</summary>
    public void Kill() => Stop();

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(InstallFolder, "node_modules", "s3rver", "bin", "s3rver.js"), "-d", _data.FullName, "-a", "127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready when it accepts connections.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var socket = new TcpClient();
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, _port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
            {
                await Task.Delay(20);
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"s3rver did not start on port {_port}:\n{Log}", ex);
            }
        }
    }

    private void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static readonly SemaphoreSlim Installing = new(1, 1);

    private static async Task EnsureInstalledAsync()
    {
        await Installing.WaitAsync();
        try
        {
            await InstallAsync();
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task InstallAsync()
    {
        if (File.Exists(Path.Combine(InstallFolder, "node_modules", "s3rver", "bin", "s3rver.js")))
        {
            return;
        }

        Directory.CreateDirectory(InstallFolder);
        var install = Process.Start(new ProcessStartInfo("npm", ["install", "--no-audit", "--no-fund", "--prefix", InstallFolder, "s3rver@3.7"]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm install s3rver@3.7 failed:\n{output}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
