using System.CommandLine;
using StreamingLoader.Cli;

var root = new RootCommand("StreamingLoader: backpressured, observable data loading for .NET training loops.");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
