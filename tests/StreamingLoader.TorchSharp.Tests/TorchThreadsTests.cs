using System.Runtime.InteropServices;
using TorchSharp;

namespace StreamingLoader.TorchSharp.Tests;

public partial class TorchThreadsTests
{
    [Fact]
    public void ApplyDefaults_BeforeLibTorchLoaded_SetsPassiveWaitWhereNativeCodeReadsIt()
    {
        // The module initializer (ThreadDefaults) called ApplyDefaults before any test loaded libtorch.
        using var ones = torch.ones(2);

        Assert.True(TorchThreads.IsLibTorchLoaded);
        Assert.Equal(ThreadDefaults.WaitPolicyBefore ?? "PASSIVE", Marshal.PtrToStringUTF8(getenv(TorchThreads.WaitPolicyVariable)));

        // Once set, a later call changes nothing and does not throw although libtorch is loaded.
        TorchThreads.ApplyDefaults();
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchThreads.ApplyDefaults(intraOpThreads: 0));
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getenv(string name);
}
