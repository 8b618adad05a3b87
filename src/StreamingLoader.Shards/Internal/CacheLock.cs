namespace StreamingLoader.Shards.Internal;

/// <summary>
/// A shard cache folder's lock: a semaphore within this process (file locks do not exclude threads of one process
/// reliably everywhere), and an exclusive lock file across the processes that share the folder.
/// </summary>
internal sealed class CacheLock(string directory, TimeProvider time)
{
    private const string LockName = ".lock";
    private static readonly SemaphoreSlim ProcessLock = new(1, 1);

    /// <summary>Waits for the lock; disposing the result releases it.</summary>
    public async Task<IAsyncDisposable> AcquireAsync(CancellationToken cancellationToken)
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
