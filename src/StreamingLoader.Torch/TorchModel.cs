using System.Text;
using StreamingLoader.Torch.Interop;

namespace StreamingLoader.Torch;

/// <summary>
/// A libtorch model: a linear layer, an MLP, a small CNN, or any TorchScript module scripted in PyTorch. Train it with
/// a <see cref="TorchTrainer"/>; save and load its weights; run it on new inputs with <see cref="Predict(ReadOnlySpan{float}, ReadOnlySpan{int})"/>.
/// </summary>
/// <remarks>
/// <para>
/// The built-in models are <c>torch::nn::Sequential</c> stacks initialized as PyTorch initializes them (Kaiming-uniform
/// weights from libtorch's global generator; pass a <c>seed</c> to make them reproducible). Dense models flatten the
/// features ([n, 1, 28, 28] is read as [n, 784]).
/// </para>
/// <para>A model is not thread-safe: one trainer uses it at a time. Dispose it to free its native memory.</para>
/// </remarks>
public sealed class TorchModel : IDisposable
{
    private readonly ModelHandle _handle;

    private TorchModel(ModelHandle handle, string kind)
    {
        _handle = handle;
        Kind = kind;
    }

    /// <summary>Gets the model's kind: <c>Linear</c>, <c>MLP</c>, <c>CNN</c> or <c>TorchScript</c>.</summary>
    public string Kind { get; }

    /// <summary>Gets the device the parameters are on.</summary>
    public TorchDevice Device { get; private set; }

    /// <summary>Gets the number of trainable values (<c>sum(p.numel() for p in model.parameters())</c>).</summary>
    public long ParameterCount
    {
        get
        {
            NativeError.Check(NativeMethods.slt_model_parameter_count(Handle, out var count));
            return count;
        }
    }

    /// <summary>Gets whether the model is in training mode (<c>model.training</c>); see <see cref="Train"/> and <see cref="Eval"/>.</summary>
    public bool IsTraining
    {
        get
        {
            NativeError.Check(NativeMethods.slt_model_is_training(Handle, out var training));
            return training != 0;
        }
    }

    internal ModelHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    /// <summary>
    /// One linear layer, <c>nn.Linear(inputs, outputs)</c> (features flattened): linear regression with
    /// <see cref="TorchLoss.MeanSquaredError"/>, softmax regression with <see cref="TorchLoss.CrossEntropy"/>.
    /// </summary>
    /// <param name="inputs">Feature values per sample.</param>
    /// <param name="outputs">Outputs per sample (targets or classes).</param>
    /// <param name="seed">Seeds libtorch's generator before the initialization (<c>torch.manual_seed</c>); null leaves it.</param>
    public static TorchModel Linear(int inputs, int outputs, ulong? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputs);
        Seed(seed);
        NativeError.Check(NativeMethods.slt_model_linear(inputs, outputs, out var handle));
        return new TorchModel(handle, "Linear");
    }

    /// <summary>
    /// A multilayer perceptron: <c>nn.Linear</c> layers of the given sizes with ReLU between them (features flattened).
    /// <c>[784, 256, 128, 100, 10]</c> is 784 inputs, hidden layers of 256, 128 and 100, and 10 outputs.
    /// </summary>
    /// <param name="layerSizes">[inputs, hidden₁, …, outputs]: at least two sizes.</param>
    /// <param name="seed">Seeds libtorch's generator before the initialization; null leaves it.</param>
    public static unsafe TorchModel Mlp(IReadOnlyList<int> layerSizes, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        if (layerSizes.Count < 2)
        {
            throw new ArgumentException($"An MLP needs at least an input size and an output size; {layerSizes.Count} size(s) were given.", nameof(layerSizes));
        }

        var sizes = new long[layerSizes.Count];
        for (var i = 0; i < sizes.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerSizes[i], nameof(layerSizes));
            sizes[i] = layerSizes[i];
        }

        Seed(seed);
        ModelHandle handle;
        fixed (long* pointer = sizes)
        {
            NativeError.Check(NativeMethods.slt_model_mlp(pointer, sizes.Length, out handle));
        }

        return new TorchModel(handle, "MLP");
    }

    /// <summary>
    /// A small CNN for images [n, channels, height, width]: two 3×3 convolutions (padding 1), each followed by ReLU
    /// and 2×2 max pooling, then a hidden linear layer with ReLU and the output layer.
    /// </summary>
    /// <param name="channels">Input channels (1 for grayscale).</param>
    /// <param name="height">Image height; at least 4.</param>
    /// <param name="width">Image width; at least 4.</param>
    /// <param name="classes">Outputs (classes).</param>
    /// <param name="conv1Channels">Channels of the first convolution.</param>
    /// <param name="conv2Channels">Channels of the second convolution.</param>
    /// <param name="hidden">Size of the hidden linear layer.</param>
    /// <param name="seed">Seeds libtorch's generator before the initialization; null leaves it.</param>
    public static TorchModel Cnn(int channels, int height, int width, int classes, int conv1Channels = 32, int conv2Channels = 64, int hidden = 128, ulong? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 4);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(conv1Channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(conv2Channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hidden);
        Seed(seed);
        NativeError.Check(NativeMethods.slt_model_cnn(channels, height, width, classes, conv1Channels, conv2Channels, hidden, out var handle));
        return new TorchModel(handle, "CNN");
    }

    /// <summary>
    /// Loads a TorchScript module saved in PyTorch (<c>torch.jit.script(model).save(path)</c> or a traced module) to
    /// train or run it here. Its <c>forward</c> must take one tensor and return one tensor.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TorchException">libtorch cannot read it (the message is libtorch's).</exception>
    public static TorchModel LoadScript(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The TorchScript file '{path}' does not exist.", path);
        }

        TorchRuntime.EnsureLoaded();
        NativeError.Check(NativeMethods.slt_model_load_script(path, out var handle));
        return new TorchModel(handle, "TorchScript");
    }

    /// <summary>Moves the parameters to <paramref name="device"/> (<c>model.to(device)</c>).</summary>
    /// <exception cref="ArgumentException">The device is not available (for example CUDA on a CPU-only libtorch).</exception>
    public void To(TorchDevice device)
    {
        NativeError.Check(NativeMethods.slt_model_to(Handle, (int)device.Type, device.Index));
        Device = device;
    }

    internal void SetDevice(TorchDevice device) => Device = device;

    /// <summary>Sets training mode (<c>model.train(mode)</c>); a trainer sets it for each step itself.</summary>
    public void Train(bool training = true) => NativeError.Check(NativeMethods.slt_model_set_training(Handle, training ? 1 : 0));

    /// <summary>Sets evaluation mode (<c>model.eval()</c>).</summary>
    public void Eval() => Train(false);

    /// <summary>
    /// Saves the weights: a libtorch archive of the parameters for the built-in models, the whole module for a
    /// TorchScript model (loadable in PyTorch with <c>torch.jit.load</c>).
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        NativeError.Check(NativeMethods.slt_model_save(Handle, path));
    }

    /// <summary>Loads weights saved by <see cref="Save"/> from a model of the same architecture, onto this model's device.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TorchException">The file does not fit this model (the message is libtorch's).</exception>
    public void Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The weights file '{path}' does not exist.", path);
        }

        NativeError.Check(NativeMethods.slt_model_load(Handle, path));
    }

    /// <summary>
    /// Runs the model on one input without gradients (<c>with torch.no_grad(): model(x)</c>), in its current mode.
    /// </summary>
    /// <param name="input">The input values, row-major.</param>
    /// <param name="shape">The input's shape, batch dimension first ([1, 3] for one sample of 3 features).</param>
    /// <returns>The outputs, row-major, as Float32.</returns>
    public unsafe float[] Predict(ReadOnlySpan<float> input, ReadOnlySpan<int> shape)
    {
        if (shape.Length is 0 or > NativeMethods.MaxDimensions)
        {
            throw new ArgumentException($"The shape must have 1 to {NativeMethods.MaxDimensions} dimensions.", nameof(shape));
        }

        long elements = 1;
        foreach (var size in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(size, nameof(shape));
            elements *= size;
        }

        if (elements != input.Length)
        {
            throw new ArgumentException($"The shape [{string.Join(", ", shape.ToArray())}] holds {elements} values but {input.Length} were given.", nameof(input));
        }

        fixed (float* data = input)
        {
            var view = new TensorView { Data = data, Dimensions = shape.Length, ElementType = (int)ElementType.Float32, CapacityBytes = input.Length * sizeof(float) };
            for (var i = 0; i < shape.Length; i++)
            {
                view.Shape[i] = shape[i];
            }

            return Forward(&view);
        }
    }

    /// <summary>Runs the model on a batch's features without gradients; see <see cref="Predict(ReadOnlySpan{float}, ReadOnlySpan{int})"/>.</summary>
    /// <returns>The outputs [Count, …], row-major, as Float32.</returns>
    public unsafe float[] Predict(BatchTensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var view = NativeMethods.View(features);
        return Forward(&view);
    }

    /// <summary>Frees the native model. Idempotent; a trainer that uses the model keeps it alive until it is disposed.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Describes the layers, as PyTorch prints a module.</summary>
    public override unsafe string ToString()
    {
        if (_handle.IsClosed)
        {
            return $"{Kind} (disposed)";
        }

        var status = NativeMethods.slt_model_describe(_handle, null, 0, out var needed);
        if (!NativeError.IsBufferTooSmall(status))
        {
            NativeError.Check(status);
        }

        var buffer = new byte[needed];
        fixed (byte* pointer = buffer)
        {
            NativeError.Check(NativeMethods.slt_model_describe(_handle, pointer, buffer.Length, out _));
        }

        return Encoding.UTF8.GetString(buffer, 0, buffer.Length - 1);
    }

    private static void Seed(ulong? seed)
    {
        if (seed is { } value)
        {
            TorchRuntime.ManualSeed(value);
        }
        else
        {
            TorchRuntime.EnsureLoaded();
        }
    }

    private unsafe float[] Forward(TensorView* view)
    {
        var shape = stackalloc long[NativeMethods.MaxDimensions];
        var output = new float[256];
        fixed (float* pointer = output)
        {
            var status = NativeMethods.slt_model_forward(Handle, view, pointer, output.Length, shape, out var dimensions);
            if (!NativeError.IsBufferTooSmall(status))
            {
                NativeError.Check(status);
                return output[..(int)Elements(shape, dimensions)];
            }

            output = new float[Elements(shape, dimensions)];
        }

        fixed (float* pointer = output)
        {
            NativeError.Check(NativeMethods.slt_model_read_output(Handle, pointer, output.Length));
        }

        return output;
    }

    private static unsafe long Elements(long* shape, int dimensions)
    {
        long elements = 1;
        for (var i = 0; i < dimensions; i++)
        {
            elements *= shape[i];
        }

        return elements;
    }
}
