namespace StreamingLoader.Shards.Internal;

/// <summary>A shard cache's lock: a semaphore within this process, and an exclusive lock file across processes.</summary>
internal static class CacheLock
{
    private const string LockName = ".lock";
    private static readonly SemaphoreSlim ProcessLock = new(1, 1);

    /// <summary>Takes the lock of the cache in <paramref name="directory"/>; dispose the result to release it.</summary>
    public static async Task<IAsyncDisposable> TakeAsync(string directory, TimeProvider time, CancellationToken cancellationToken)
    {
        await ProcessLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var lockPath = Path.Combine(directory, LockName);
            while (true)
            {
                try
                {
                    var file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return new Held(file);
                }
                catch (IOException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(2), time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            ProcessLock.Release();
            throw;
        }
    }

    private sealed class Held(FileStream file) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            file.Dispose();
            ProcessLock.Release();
            return ValueTask.CompletedTask;
        }
    }
}
