using System.Reflection;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// The public surfaces of StreamingLoader.Shards, StreamingLoader.Parquet and StreamingLoader.WebDataset, each compared
/// with its checked-in baseline (PublicApi.NAME.txt beside this file) so that every API change is deliberate. After an
/// intended change, run the tests with <c>UPDATE_PUBLIC_API=1</c> and commit the new baselines with the change.
/// (The description is the core's, tests/StreamingLoader.Tests/PublicApiTests.cs, so the baselines read alike.)
/// </summary>
public class PublicApiTests
{
    public static TheoryData<string> Assemblies() => ["StreamingLoader.Shards", "StreamingLoader.Parquet", "StreamingLoader.WebDataset"];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void PublicSurface_MatchesTheBaseline(string assemblyName)
    {
        var assembly = assemblyName switch
        {
            "StreamingLoader.Shards" => typeof(ShardSource).Assembly,
            "StreamingLoader.Parquet" => typeof(Parquet.ParquetDataset).Assembly,
            _ => typeof(WebDataset.TarDataset).Assembly,
        };
        var actual = Describe(assembly);
        var path = Path.Combine(SourceDirectory(), $"PublicApi.{assemblyName}.txt");
        if (Environment.GetEnvironmentVariable("UPDATE_PUBLIC_API") == "1")
        {
            File.WriteAllText(path, actual);
        }

        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        var missing = expected.Split('\n').Except(actual.Split('\n')).ToList();
        var added = actual.Split('\n').Except(expected.Split('\n')).ToList();
        Assert.True(
            missing.Count == 0 && added.Count == 0,
            $"The public API of {assemblyName} changed (set UPDATE_PUBLIC_API=1 to accept it).\nRemoved:\n  {string.Join("\n  ", missing)}\nAdded:\n  {string.Join("\n  ", added)}");
    }

    private static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            lines.Add($"{Kind(type)} {Name(type)}{Bases(type)}");
            const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var member in type.GetMembers(declared))
            {
                if (Describe(member) is { } line)
                {
                    lines.Add($"{Name(type)}.{line}");
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines) + "\n";
    }

    private static string? Describe(MemberInfo member) => member switch
    {
        ConstructorInfo c => $".ctor({Parameters(c)})",
        MethodInfo m when !m.IsSpecialName => $"{(m.IsStatic ? "static " : "")}{(m.IsAbstract ? "abstract " : "")}{Name(m.ReturnType)} {m.Name}{Generic(m)}({Parameters(m)})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{{(p.GetMethod?.IsPublic == true ? " get;" : "")}{(p.SetMethod?.IsPublic == true ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)) ? " init;" : " set;") : "")} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => null,
    };

    private static string Kind(Type type) =>
        type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : type.IsAbstract ? "abstract class" : type.IsSealed ? "sealed class" : "class";

    private static string Bases(Type type)
    {
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
        {
            bases.Add(Name(b));
        }

        bases.AddRange(type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? "" : " : " + string.Join(", ", bases);
    }

    private static string Generic(MethodInfo method) =>
        method.IsGenericMethodDefinition ? $"<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>" : "";

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type type)
    {
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsByRef)
        {
            return "ref " + Name(type.GetElementType()!);
        }

        var name = type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : type.FullName ?? type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        return type.IsGenericType ? $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>" : name;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
