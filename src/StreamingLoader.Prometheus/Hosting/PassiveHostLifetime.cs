using Microsoft.Extensions.Hosting;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>
/// A host lifetime that does nothing: the metrics server lives inside someone else's process, so it must not hook
/// Ctrl+C or SIGTERM the way the default console lifetime does; the server stops when it is disposed.
/// </summary>
internal sealed class PassiveHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
