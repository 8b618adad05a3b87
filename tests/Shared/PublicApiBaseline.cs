using System.Reflection;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Testing;

/// <summary>
/// A library's public surface, one line per type and member, compared with a checked-in baseline so that every API change
/// is deliberate. Each library's test project links this file and has one test per library it covers
/// (<c>PublicSurface_MatchesTheBaseline</c>). After an intended change, run the tests with <c>UPDATE_PUBLIC_API=1</c>
/// and commit the new baseline with the change.
/// </summary>
internal static class PublicApiBaseline
{
    /// <summary>
    /// Describes <paramref name="assembly"/> and compares it with the baseline <c>PublicApi.{assembly name}.txt</c> in the
    /// folder of the calling test's source file (rewritten first when <c>UPDATE_PUBLIC_API=1</c>).
    /// </summary>
    public static void Verify(Assembly assembly, [CallerFilePath] string callerPath = "")
    {
        var actual = Describe(assembly);
        var path = Path.Combine(Path.GetDirectoryName(callerPath)!, $"PublicApi.{assembly.GetName().Name}.txt");
        if (Environment.GetEnvironmentVariable("UPDATE_PUBLIC_API") == "1")
        {
            File.WriteAllText(path, actual);
        }

        if (!File.Exists(path))
        {
            throw new Xunit.Sdk.XunitException($"No baseline {path} for {assembly.GetName().Name}'s public API: run the tests with UPDATE_PUBLIC_API=1 and commit it.");
        }

        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        var missing = expected.Split('\n').Except(actual.Split('\n')).ToList();
        var added = actual.Split('\n').Except(expected.Split('\n')).ToList();
        if (missing.Count > 0 || added.Count > 0)
        {
            throw new Xunit.Sdk.XunitException(
                $"{assembly.GetName().Name}'s public API changed (set UPDATE_PUBLIC_API=1 to accept it into {Path.GetFileName(path)}).\nRemoved:\n  {string.Join("\n  ", missing)}\nAdded:\n  {string.Join("\n  ", added)}");
        }
    }

    /// <summary>The public surface of <paramref name="assembly"/>: every exported type and its public members, sorted.</summary>
    public static string Describe(Assembly assembly)
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
}
