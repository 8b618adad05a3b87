using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>A wait of the source, timed as its blocked time and as a wait for the consumer or the stages.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct SourceWait(BlockedTimer blocked, BlockedTimer reason)
{
    /// <summary>Ends both.</summary>
    public void Stop()
    {
        blocked.Stop();
        reason.Stop();
    }
}
