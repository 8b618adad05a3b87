using System.CommandLine;
using StreamingLoader.Stress;

var root = new RootCommand("StreamingLoader's long-running checks: every error and shutdown path many times (stress), a slow consumer for minutes (soak).");
root.Subcommands.Add(StressCommand.Create());
root.Subcommands.Add(SoakCommand.Create());
return await root.Parse(args).InvokeAsync();
