namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The workspaces of one image pipeline: one is lent to each image while it is decoded, so the pool holds at most as
/// many as were ever decoded at once (the loader's workers), whichever threads ran them.
/// </summary>
internal sealed class WorkspacePool
{
    private readonly Stack<Workspace> _free = new();
    private readonly List<Workspace> _all = [];
    private readonly Lock _lock = new();

    /// <summary>Gets the number of workspaces the pool has made.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>Gets the bytes all workspaces of the pool hold in their file and pixel buffers.</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_lock)
            {
                return _all.Sum(w => w.RetainedBytes);
            }
        }
    }

    /// <summary>Gets the most bytes any one workspace of the pool has held at once.</summary>
    public long PeakBytesPerWorkspace
    {
        get
        {
            lock (_lock)
            {
                return _all.Count == 0 ? 0 : _all.Max(w => w.PeakBytes);
            }
        }
    }

    public Workspace Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var workspace))
            {
                return workspace;
            }

            workspace = new Workspace();
            _all.Add(workspace);
            return workspace;
        }
    }

    /// <summary>Ends the workspace's image (<see cref="Workspace.EndImage"/>) and takes it back.</summary>
    public void Return(Workspace workspace)
    {
        workspace.EndImage();
        lock (_lock)
        {
            _free.Push(workspace);
        }
    }
}
