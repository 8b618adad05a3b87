using System.Collections.Concurrent;

namespace StreamingLoader.Torch.Tests;

/// <summary>The bridge loads, reports its libtorch, and turns every native error into a .NET exception with libtorch's message.</summary>
public class NativeBridgeTests
{
    [Fact]
    public void TorchRuntime_Loaded_ReportsVersionAndThreads()
    {
        Assert.Matches(@"^\d+\.\d+", TorchRuntime.Version);
        Assert.True(TorchRuntime.Threads >= 1);
        Assert.Equal(TorchRuntime.IsCudaAvailable, TorchRuntime.CudaDeviceCount > 0);
    }

    [Fact]
    public void TorchRuntime_Threads_CanBeSetAndRead()
    {
        var before = TorchRuntime.Threads;
        try
        {
            TorchRuntime.Threads = 2;
            Assert.Equal(2, TorchRuntime.Threads);
        }
        finally
        {
            TorchRuntime.Threads = before;
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.Threads = 0);
    }

    [Fact]
    public void ElementType_Codes_AreTheBridgeCodes()
    {
        // native/streamingloader_torch.h maps these numbers to torch scalar types.
        Assert.Equal(
            [0, 1, 2, 3, 4, 5, 6, 7, 8],
            new[] { ElementType.Float32, ElementType.Float64, ElementType.Float16, ElementType.UInt8, ElementType.Int8, ElementType.Int16, ElementType.Int32, ElementType.Int64, ElementType.Bool }.Select(t => (int)t));
    }

    [Fact]
    public void Predict_InputOfTheWrongWidth_ThrowsTorchExceptionWithLibtorchMessage()
    {
        using var model = TorchModel.Linear(3, 1, seed: 0);

        var error = Assert.Throws<TorchException>(() => model.Predict(new float[4], [1, 4]));

        // libtorch's own words for a matmul of [1, 4] by the layer's [3, 1].
        Assert.Contains("mat1 and mat2 shapes cannot be multiplied", error.Message);
        Assert.DoesNotContain("Exception raised from", error.Message); // the message, not the C++ backtrace
    }

    [Fact]
    public void LoadScript_FileThatIsNotTorchScript_ThrowsTorchException()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a zip archive");

            var error = Assert.Throws<TorchException>(() => TorchModel.LoadScript(path));

            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            Assert.Contains("zip", error.Message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadScript_MissingFile_ThrowsFileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => TorchModel.LoadScript("/nonexistent/model.pt"));
    }

    [Fact]
    public void To_CudaDeviceThatIsNotThere_ThrowsArgumentExceptionSayingWhy()
    {
        using var model = TorchModel.Linear(3, 1);

        var error = Assert.Throws<ArgumentException>(() => model.To(TorchDevice.Cuda(TorchRuntime.CudaDeviceCount)));

        Assert.Contains("CUDA", error.Message);
        Assert.Equal(TorchDevice.Cpu, model.Device);
    }

    [Fact]
    public void Errors_OnManyThreadsAtOnce_EachThreadGetsItsOwnMessage()
    {
        var messages = new ConcurrentBag<(int Width, string Message)>();

        Parallel.For(0, 32, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var model = TorchModel.Linear(3, 1);
            var width = 4 + (i % 5);
            var error = Assert.Throws<TorchException>(() => model.Predict(new float[width], [1, width]));
            messages.Add((width, error.Message));
        });

        Assert.Equal(32, messages.Count);
        Assert.All(messages, m => Assert.Contains($"1x{m.Width}", m.Message));
    }

    [Fact]
    public void TorchDevice_Parse_ReadsPyTorchNames()
    {
        Assert.Equal(TorchDevice.Cpu, TorchDevice.Parse("cpu"));
        Assert.Equal(TorchDevice.Cuda(0), TorchDevice.Parse("cuda"));
        Assert.Equal(TorchDevice.Cuda(2), TorchDevice.Parse("CUDA:2"));
        Assert.Equal(TorchDevice.Best, TorchDevice.Parse("auto"));
        Assert.Equal("cuda:1", TorchDevice.Cuda(1).ToString());
        Assert.Throws<FormatException>(() => TorchDevice.Parse("tpu"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TorchDevice(TorchDeviceType.Cpu, 1));
    }
}
