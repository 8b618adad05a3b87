using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace StreamingLoader.Samples;

/// <summary>
/// The samples' one way to read their command lines: System.CommandLine, as the <c>streamingloader</c> CLI does.
/// Every problem of a command line is reported at once, in one <see cref="ArgumentException"/>.
/// </summary>
internal static class SampleCommandLine
{
    /// <summary>Parses <paramref name="args"/> against <paramref name="command"/>; <paramref name="help"/> tells whether -h or --help was given.</summary>
    public static ParseResult Parse(RootCommand command, IReadOnlyList<string> args, out bool help)
    {
        var result = command.Parse([.. args]);
        if (result.Errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", result.Errors.Select(e => e.Message)));
        }

        help = result.Action is HelpAction;
        return result;
    }

    /// <summary>
    /// A sample's <c>Main</c> prologue: parses the command line with <paramref name="parse"/>. Returns the exit code when
    /// the sample should stop here (2 after printing what is wrong and the usage, 0 after printing the usage for
    /// --help), or null with <paramref name="options"/> set.
    /// </summary>
    public static int? ParseOrExit<T>(Func<T> parse, Func<T, bool> isHelp, string usage, out T options)
    {
        try
        {
            options = parse();
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(usage);
            options = default!;
            return 2;
        }

        if (isHelp(options))
        {
            Console.WriteLine(usage);
            return 0;
        }

        return null;
    }

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    public static Option<string> Text(string name, string defaultValue, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    public static Option<string?> OptionalText(string name, string description) => new(name) { Description = description };

    public static Option<int> Positive(string name, int defaultValue, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => PositiveValue(r, r.Tokens[0].Value, name) };

    public static Option<int?> OptionalPositive(string name, string description) =>
        new(name) { Description = description, CustomParser = r => PositiveValue(r, r.Tokens[0].Value, name) };

    public static Option<T> Number<T>(string name, T defaultValue, string description)
        where T : INumber<T> =>
        new(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => T.TryParse(r.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : Error<T>(r, $"{name} takes a number; '{r.Tokens[0].Value}' is not one."),
        };

    /// <summary>A comma-separated list of positive integers (<c>--hidden 256,128</c>).</summary>
    public static Option<int[]> PositiveList(string name, int[] defaultValue, string description) =>
        new(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => [.. r.Tokens[0].Value.Split(',').Select(item => PositiveValue(r, item, name))],
        };

    /// <summary>One of a fixed set of words (<c>--model mlp|cnn</c>).</summary>
    public static Option<string> OneOf(string name, string defaultValue, string description, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    /// <summary>A libtorch device: <c>auto</c> (CUDA if available), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public static Option<string> Device(string defaultValue, string description) =>
        new("--device")
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => r.Tokens[0].Value is var text && (text is "auto" or "cpu" or "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                ? text
                : Error<string>(r, $"--device takes auto, cpu, cuda or cuda:N; '{text}' is none of them."),
        };

    private static int PositiveValue(ArgumentResult result, string text, string name) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : Error<int>(result, $"{name} takes positive integers; '{text}' is not one.");

    private static T Error<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }
}
