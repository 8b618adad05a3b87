using System.CommandLine;

namespace StreamingLoader.Cli;

internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Train a softmax regression on a synthetic dataset through the full pipeline.");
        command.SetAction((_, _) => Task.FromResult(0));
        return command;
    }
}
