using BenchmarkDotNet.Running;

namespace StreamingLoader.Benchmarks;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Measurements that BenchmarkDotNet's one-operation model does not fit run as commands of their own.
        if (args.Length > 0 && args[0] == "trainstep")
        {
            return await TrainStepBenchmark.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "decode")
        {
            return ImageDecodeBenchmark.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
