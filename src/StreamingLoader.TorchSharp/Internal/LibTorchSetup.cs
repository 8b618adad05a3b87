using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>
/// Loads libtorch through TorchSharp, once, and where TorchSharp's native library cannot load on this machine says
/// why and what to do. TorchSharp 0.107 reports any failure to load <c>libLibTorchSharp.so</c> as the application
/// "doesn't contain a reference to libtorch-cpu-linux-x64" (and copies 300 MB of libtorch next to the application
/// trying again), even where the reference is there and the dynamic loader refused the library for a
/// <c>GLIBCXX_3.4.32</c> the machine's libstdc++ lacks: the requirement that this package's build step marks weak.
/// So before TorchSharp loads, this loads the application's copy of the library itself and, if the dynamic loader
/// refuses it for a missing symbol version, throws with the version, the machine's libstdc++ and the fix.
/// </summary>
internal static partial class LibTorchSetup
{
    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly Lock Gate = new();
    private static int _loaded;

    /// <summary>Loads libtorch (TorchSharp's CPU backend) unless done already.</summary>
    /// <exception cref="InvalidOperationException">TorchSharp's native library cannot load here; the message says why and what to do.</exception>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref _loaded) != 0)
        {
            return;
        }

        lock (Gate)
        {
            if (_loaded != 0)
            {
                return;
            }

            ThrowIfNativeLibraryRefused();

            // TorchSharp's own load; any other failure (no libtorch package at all) keeps TorchSharp's message.
            torch.InitializeDeviceType(DeviceType.CPU);
            Volatile.Write(ref _loaded, 1);
        }
    }

    /// <summary>
    /// Explains a dynamic loader's refusal of <paramref name="library"/> for a missing symbol version; null when
    /// <paramref name="loaderError"/> is about something else.
    /// </summary>
    public static string? Explain(string loaderError, string library)
    {
        ArgumentNullException.ThrowIfNull(loaderError);
        var match = MissingVersion().Match(loaderError);
        if (!match.Success)
        {
            return null;
        }

        var provider = match.Groups["provider"].Value;
        var version = match.Groups["version"].Value;
        var loaderSaid = match.Value.Trim();
        if (!version.StartsWith("GLIBCXX_", StringComparison.Ordinal))
        {
            return $"TorchSharp's native library {library} cannot load on this machine: it needs {version} of {provider}, which this machine's {Path.GetFileName(provider)} does not have, and no build step can change that. Run on a newer Linux distribution, or use a TorchSharp built for this one. The dynamic loader said: {loaderSaid}";
        }

        var newest = NewestVersion(provider, "GLIBCXX_");
        var has = newest is null ? "" : $", whose newest is {newest}";
        return new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"TorchSharp's native library {library} cannot load: it asks for {version} of libstdc++, and this machine's libstdc++ ({provider}{has}) does not have it. ")
            .Append(CultureInfo.InvariantCulture, $"TorchSharp 0.107 asks for {version} for one symbol it never binds; StreamingLoader.TorchSharp's build step marks that requirement weak in the application's build and publish output, and it has not run on this copy. ")
            .Append("Reference the StreamingLoader.TorchSharp NuGet package from the application's own project: NuGet then imports the package's buildTransitive/StreamingLoader.TorchSharp.targets, which runs after every build and publish. ")
            .Append("A ProjectReference to StreamingLoader.TorchSharp.csproj imports nothing: add <Import Project=\"path/to/src/StreamingLoader.TorchSharp/build/StreamingLoader.TorchSharp.targets\" /> to the application's project. ")
            .Append("Do not set StreamingLoaderWeakenLibTorchSharpVersions to false, and build or publish again. ")
            .Append(CultureInfo.InvariantCulture, $"Otherwise, install a libstdc++ that has {version} (GCC 13 or later). ")
            .Append(CultureInfo.InvariantCulture, $"The dynamic loader said: {loaderSaid}")
            .ToString();
    }

    /// <summary>Where the application's copy of TorchSharp's native library is, the way the .NET host finds it; null when none is found.</summary>
    public static string? FindNativeLibrary()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searched)
        {
            folders.AddRange(searched.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        foreach (var root in new[] { Path.GetDirectoryName(typeof(torch).Assembly.Location), AppContext.BaseDirectory })
        {
            if (!string.IsNullOrEmpty(root))
            {
                folders.Add(root);
                folders.Add(Path.Combine(root, "runtimes", $"linux-{arch}", "native"));
            }
        }

        return folders.Select(folder => Path.Combine(folder, LibraryFile)).FirstOrDefault(File.Exists);
    }

    private static void ThrowIfNativeLibraryRefused()
    {
        if (!OperatingSystem.IsLinux() || FindNativeLibrary() is not { } library)
        {
            return;
        }

        try
        {
            // Loaded for good when it loads: TorchSharp's own load of the same file then finds it loaded.
            NativeLibrary.Load(library);
        }
        catch (DllNotFoundException e) when (Explain(e.Message, library) is { } explanation)
        {
            throw new InvalidOperationException(explanation, e);
        }
        catch (DllNotFoundException)
        {
            // Something else (a libtorch package missing): TorchSharp's own load reports it.
        }
    }

    /// <summary>The newest version named <paramref name="prefix"/>x.y.z in a library's version strings, or null.</summary>
    private static string? NewestVersion(string library, string prefix)
    {
        try
        {
            var text = Encoding.Latin1.GetString(File.ReadAllBytes(library));
            return Regex.Matches(text, Regex.Escape(prefix) + @"(\d+(?:\.\d+)*)")
                .Select(m => m.Groups[1].Value)
                .Distinct()
                .Select(v => (Text: v, Version: Version.TryParse(v.Contains('.', StringComparison.Ordinal) ? v : v + ".0", out var parsed) ? parsed : null))
                .Where(v => v.Version is not null)
                .MaxBy(v => v.Version)
                .Text is { } newest ? prefix + newest : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    // glibc's words: "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/libLibTorchSharp.so)".
    [GeneratedRegex(@"(?<provider>\S+): version [`'](?<version>[A-Z_]+_[\d.]+)' not found(?: \(required by [^)]*\))?")]
    private static partial Regex MissingVersion();
}
