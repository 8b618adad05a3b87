using Microsoft.Win32.SafeHandles;

namespace StreamingLoader.Torch.Interop;

/// <summary>Owns an <c>slt_model*</c>.</summary>
internal sealed class ModelHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public ModelHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.slt_model_free(handle);
        return true;
    }
}

/// <summary>Owns an <c>slt_optimizer*</c>.</summary>
internal sealed class OptimizerHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public OptimizerHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.slt_optimizer_free(handle);
        return true;
    }
}

/// <summary>Owns an <c>slt_trainer*</c>; freeing it waits for the device first.</summary>
internal sealed class TrainerHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TrainerHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.slt_trainer_free(handle);
        return true;
    }
}
