using System.Runtime.InteropServices;

namespace StreamingLoader.TorchSharp.Interop;

/// <summary>The process's native environment and loaded libraries, which managed code does not see.</summary>
internal static partial class ProcessNative
{
    /// <summary>
    /// Sets a variable in the C library's environment, which native code reads with <c>getenv</c>
    /// (<see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only .NET's copy on Unix).
    /// </summary>
    public static void SetNativeEnvironment(string name, string value, bool overwrite)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            // Windows' CRT reads the process environment that .NET writes.
            if (overwrite || Environment.GetEnvironmentVariable(name) is null)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            return;
        }

        if (setenv(name, value, overwrite ? 1 : 0) != 0)
        {
            throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        if (overwrite || Environment.GetEnvironmentVariable(name) is null)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    /// <summary>Gets the paths of the shared libraries mapped into this process whose file name contains <paramref name="fragment"/> (Linux).</summary>
    public static IReadOnlyList<string> LoadedLibraries(string fragment)
    {
        const string Maps = "/proc/self/maps";
        if (!File.Exists(Maps))
        {
            return [];
        }

        var found = new List<string>();
        foreach (var line in File.ReadLines(Maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..];
            if (Path.GetFileName(path).Contains(fragment, StringComparison.Ordinal) && !found.Contains(path))
            {
                found.Add(path);
            }
        }

        return found;
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int setenv(string name, string value, int overwrite);
}
