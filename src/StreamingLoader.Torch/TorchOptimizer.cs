using System.Globalization;
using StreamingLoader.Torch.Interop;

namespace StreamingLoader.Torch;

/// <summary>
/// An optimizer over a model's parameters: SGD with momentum (<c>torch.optim.SGD</c>) or Adam (<c>torch.optim.Adam</c>),
/// libtorch's own implementations.
/// </summary>
/// <remarks>Create it after moving the model to its device, as in PyTorch. Dispose it to free its state.</remarks>
public sealed class TorchOptimizer : IDisposable
{
    private readonly OptimizerHandle _handle;
    private readonly string _description;

    private TorchOptimizer(OptimizerHandle handle, TorchModel model, string description)
    {
        _handle = handle;
        Model = model;
        _description = description;
    }

    /// <summary>Gets the model whose parameters this optimizer updates.</summary>
    public TorchModel Model { get; }

    /// <summary>Gets or sets the learning rate of every parameter group (what a scheduler changes); positive.</summary>
    public double LearningRate
    {
        get
        {
            NativeError.Check(NativeMethods.slt_optimizer_get_lr(Handle, out var lr));
            return lr;
        }

        set
        {
            if (!(value > 0) || !double.IsFinite(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a positive finite number.");
            }

            NativeError.Check(NativeMethods.slt_optimizer_set_lr(Handle, value));
        }
    }

    internal OptimizerHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    /// <summary>Stochastic gradient descent, <c>torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)</c>.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="learningRate">The step size; positive.</param>
    /// <param name="momentum">The momentum factor; 0 for plain SGD.</param>
    /// <param name="weightDecay">L2 penalty.</param>
    /// <param name="nesterov">Nesterov momentum (needs a positive momentum and no dampening).</param>
    /// <param name="dampening">Dampening for momentum.</param>
    public static TorchOptimizer Sgd(TorchModel model, double learningRate, double momentum = 0, double weightDecay = 0, bool nesterov = false, double dampening = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckRate(learningRate);
        CheckNonNegative(momentum, nameof(momentum));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        CheckNonNegative(dampening, nameof(dampening));
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum needs a positive momentum and zero dampening.", nameof(nesterov));
        }

        NativeError.Check(NativeMethods.slt_optimizer_sgd(model.Handle, learningRate, momentum, dampening, weightDecay, nesterov ? 1 : 0, out var handle));
        return new TorchOptimizer(handle, model, string.Create(CultureInfo.InvariantCulture, $"SGD(lr={learningRate}, momentum={momentum}, weight_decay={weightDecay}{(nesterov ? ", nesterov" : string.Empty)})"));
    }

    /// <summary>Adam, <c>torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay)</c>.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="learningRate">The step size; positive (PyTorch's default 1e-3).</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator; positive.</param>
    /// <param name="weightDecay">L2 penalty.</param>
    public static TorchOptimizer Adam(TorchModel model, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckRate(learningRate);
        if (beta1 is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 is in [0, 1).");
        }

        if (beta2 is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 is in [0, 1).");
        }

        if (!(epsilon > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive.");
        }

        CheckNonNegative(weightDecay, nameof(weightDecay));
        NativeError.Check(NativeMethods.slt_optimizer_adam(model.Handle, learningRate, beta1, beta2, epsilon, weightDecay, out var handle));
        return new TorchOptimizer(handle, model, string.Create(CultureInfo.InvariantCulture, $"Adam(lr={learningRate}, betas=({beta1}, {beta2}), eps={epsilon}, weight_decay={weightDecay})"));
    }

    /// <summary>Frees the optimizer's state. Idempotent; a trainer that uses it keeps it alive until it is disposed.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _description;

    private static void CheckRate(double learningRate)
    {
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        }
    }

    private static void CheckNonNegative(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0.");
        }
    }
}
