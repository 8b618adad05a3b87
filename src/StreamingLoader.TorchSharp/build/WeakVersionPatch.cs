// Compiled by MSBuild as an inline task (StreamingLoader.TorchSharp.targets) and by the tests (without the task class):
// plain C# against .NET Standard 2.0, no dependency beyond it.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace StreamingLoader.TorchSharp.Build;

#if !WEAK_VERSION_PATCH_WITHOUT_TASK
/// <summary>
/// MSBuild task: marks version requirements of ELF libraries weak (VER_FLG_WEAK in .gnu.version_r) when no relocated
/// symbol needs them, so that the dynamic loader does not refuse a library for a version of a symbol it never binds.
/// </summary>
public class WeakenUnusedVersionNeeds : Microsoft.Build.Utilities.Task
{
    /// <summary>The libraries to patch in place (output or publish copies, never the NuGet cache).</summary>
    [Microsoft.Build.Framework.Required]
    public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

    /// <summary>Versions to mark weak even where this machine's libstdc++ has them (the deployment target may not).</summary>
    public string Versions { get; set; } = "";

    public override bool Execute()
    {
        var listed = Versions.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(version => version.Trim()).ToArray();
        var available = WeakVersionPatch.InstalledLibStdCxxVersions(out var libstdcxx);
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var result = WeakVersionPatch.Patch(path, listed, available);
                foreach (var line in result.Notes)
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "{0}: {1}", Path.GetFileName(path), line);
                }

                if (result.Weakened.Count > 0)
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, "StreamingLoader.TorchSharp: marked {0} weak in {1} (no relocated symbol needs it; libstdc++ here: {2})", string.Join(", ", result.Weakened), path, libstdcxx ?? "not found");
                }
            }
            catch (InvalidDataException ex)
            {
                Log.LogError("StreamingLoader.TorchSharp: {0}", ex.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }
}
#endif

/// <summary>The ELF work of <c>WeakenUnusedVersionNeeds</c>: 64-bit little-endian shared libraries only.</summary>
public static class WeakVersionPatch
{
    public const ushort VerFlagWeak = 0x2;
    private const uint ShtRela = 4;
    private const uint ShtRel = 9;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    public sealed class Result
    {
        public List<string> Weakened { get; } = new List<string>();
        public List<string> Notes { get; } = new List<string>();
        public bool Changed { get; set; }
    }

    /// <summary>
    /// Marks weak each needed libstdc++ version that is in <paramref name="listed"/> or missing from
    /// <paramref name="available"/> (null: unknown) when no relocation refers to a symbol of that version. Throws
    /// <see cref="InvalidDataException"/> when a relocated symbol needs a version missing here. Idempotent: the file is
    /// rewritten (through a temporary file, so a hard link to the NuGet cache is never written through) only on a change.
    /// </summary>
    public static Result Patch(string path, IReadOnlyCollection<string> listed, ISet<string>? available)
    {
        var bytes = File.ReadAllBytes(path);
        var result = Apply(bytes, path, listed, available);
        if (result.Changed)
        {
            var temporary = path + ".weak-version.tmp";
            File.WriteAllBytes(temporary, bytes);
            File.Delete(path);
            File.Move(temporary, path);
        }

        return result;
    }

    /// <summary>The patch on the bytes of a library (in place).</summary>
    public static Result Apply(byte[] elf, string name, IReadOnlyCollection<string> listed, ISet<string>? available)
    {
        var result = new Result();
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException($"{name} is not an ELF file.");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException($"{name} is not a 64-bit little-endian ELF file; only those are supported.");
        }

        var sections = ReadSections(elf);
        var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
        var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        var dynsymIndex = sections.FindIndex(s => s.Type == ShtDynsym);
        if (verneed is null || versym is null || dynsymIndex < 0)
        {
            result.Notes.Add("no symbol versioning: nothing to patch");
            return result;
        }

        var dynsym = sections[dynsymIndex];
        var dynstr = sections[(int)dynsym.Link];
        var needStrings = sections[(int)verneed.Link];

        // Version index of every symbol that a relocation refers to.
        var relocatedByVersion = new Dictionary<int, List<string>>();
        foreach (var relocations in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == dynsymIndex))
        {
            var entrySize = relocations.Type == ShtRela ? 24 : 16;
            for (long at = relocations.Offset; at + entrySize <= relocations.Offset + relocations.Size; at += entrySize)
            {
                var symbol = (int)(BitConverter.ToUInt64(elf, (int)at + 8) >> 32);
                if (symbol == 0)
                {
                    continue;
                }

                var version = BitConverter.ToUInt16(elf, (int)(versym.Offset + (2 * symbol))) & 0x7fff;
                if (!relocatedByVersion.TryGetValue(version, out var names))
                {
                    relocatedByVersion[version] = names = new List<string>();
                }

                var nameOffset = BitConverter.ToUInt32(elf, (int)(dynsym.Offset + (24L * symbol)));
                names.Add(ReadString(elf, dynstr.Offset + nameOffset));
            }
        }

        long need = verneed.Offset;
        for (var n = 0; n < verneed.Info; n++)
        {
            var file = ReadString(elf, needStrings.Offset + BitConverter.ToUInt32(elf, (int)need + 4));
            var count = BitConverter.ToUInt16(elf, (int)need + 2);
            long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
            for (var a = 0; a < count; a++)
            {
                var flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                var index = BitConverter.ToUInt16(elf, (int)aux + 6) & 0x7fff;
                var version = ReadString(elf, needStrings.Offset + BitConverter.ToUInt32(elf, (int)aux + 8));
                var isLibStdCxx = file.StartsWith("libstdc++", StringComparison.Ordinal);
                var missing = isLibStdCxx && available is not null && !available.Contains(version);
                if (isLibStdCxx && (missing || listed.Contains(version)))
                {
                    if (relocatedByVersion.TryGetValue(index, out var symbols))
                    {
                        var list = string.Join(", ", symbols.Distinct().Take(5));
                        if (missing)
                        {
                            throw new InvalidDataException(
                                $"{name} needs {version} of {file} for symbols it binds ({list}), and this machine's libstdc++ lacks that version: it cannot load here. Install a libstdc++ with {version} (GCC 13 or later), or use a TorchSharp built for an older one.");
                        }

                        result.Notes.Add($"{version} kept: relocated symbols need it ({list})");
                    }
                    else if ((flags & VerFlagWeak) == 0)
                    {
                        var patched = (ushort)(flags | VerFlagWeak);
                        elf[aux + 4] = (byte)patched;
                        elf[aux + 5] = (byte)(patched >> 8);
                        result.Changed = true;
                        result.Weakened.Add(version);
                    }
                    else
                    {
                        result.Notes.Add($"{version} already weak");
                    }
                }

                aux += BitConverter.ToUInt32(elf, (int)aux + 12);
            }

            need += BitConverter.ToUInt32(elf, (int)need + 12);
        }

        return result;
    }

    /// <summary>Gets the versions this machine's libstdc++.so.6 defines (null when none is found, as on Windows).</summary>
    public static ISet<string>? InstalledLibStdCxxVersions(out string? path)
    {
        string[] folders = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" };
        path = folders.Select(folder => Path.Combine(folder, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        return path is null ? null : DefinedVersions(File.ReadAllBytes(path));
    }

    /// <summary>Gets the version names an ELF library defines (.gnu.version_d).</summary>
    public static ISet<string> DefinedVersions(byte[] elf)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sections = ReadSections(elf);
        var verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
        if (verdef is null)
        {
            return names;
        }

        var strings = sections[(int)verdef.Link];
        long def = verdef.Offset;
        for (var d = 0; d < verdef.Info; d++)
        {
            var aux = def + BitConverter.ToUInt32(elf, (int)def + 12);
            names.Add(ReadString(elf, strings.Offset + BitConverter.ToUInt32(elf, (int)aux)));
            def += BitConverter.ToUInt32(elf, (int)def + 16);
        }

        return names;
    }

    private sealed class Section
    {
        public uint Type;
        public long Offset;
        public long Size;
        public uint Link;
        public uint Info;
    }

    private static List<Section> ReadSections(byte[] elf)
    {
        var table = (long)BitConverter.ToUInt64(elf, 0x28);
        var entrySize = BitConverter.ToUInt16(elf, 0x3a);
        var count = BitConverter.ToUInt16(elf, 0x3c);
        var sections = new List<Section>(count);
        for (var i = 0; i < count; i++)
        {
            var at = (int)(table + (i * (long)entrySize));
            sections.Add(new Section
            {
                Type = BitConverter.ToUInt32(elf, at + 4),
                Offset = (long)BitConverter.ToUInt64(elf, at + 24),
                Size = (long)BitConverter.ToUInt64(elf, at + 32),
                Link = BitConverter.ToUInt32(elf, at + 40),
                Info = BitConverter.ToUInt32(elf, at + 44),
            });
        }

        return sections;
    }

    private static string ReadString(byte[] elf, long offset)
    {
        var end = (int)offset;
        while (elf[end] != 0)
        {
            end++;
        }

        return Encoding.ASCII.GetString(elf, (int)offset, end - (int)offset);
    }
}
