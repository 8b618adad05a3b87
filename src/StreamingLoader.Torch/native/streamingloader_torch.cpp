// streamingloader_torch: the C ABI of StreamingLoader.Torch over libtorch's C++ API. One translation unit on
// purpose: compiling against the libtorch headers is slow.
//
// Device prefetch (CUDA): a batch's host buffers are wrapped with torch::from_blob (no copy), page-locked once per
// pooled buffer (cudaHostRegister), copied to the device with non_blocking copies on a side stream taken from
// libtorch's stream pool, and an event is recorded after the copy. The step that uses the batch makes the compute
// stream wait on that event, and the host buffers are reported free (so the managed side can return them to the
// loader's pool) only once the event has completed. The stream and event code goes through c10's device-generic
// interfaces (c10::Stream, c10::Event, VirtualGuardImpl), so it compiles against a CPU-only libtorch as well and
// runs only when torch::cuda::is_available(). cudaHostRegister is looked up at run time (dlsym) in the CUDA
// runtime libtorch loaded, so no CUDA header or library is needed to build.
//
// On the CPU the same path runs without copies: the step reads the batch memory in place.

#include "streamingloader_torch.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <dlfcn.h>

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

thread_local std::string g_last_error;

// An argument error found before libtorch ran: reported as SLT_INVALID_ARGUMENT (ArgumentException in .NET).
struct InvalidArgument : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// A call that is not valid in the object's current state: SLT_INVALID_STATE (InvalidOperationException).
struct InvalidState : std::logic_error {
    using std::logic_error::logic_error;
};

// An output buffer that is too small: SLT_BUFFER_TOO_SMALL, with the needed size already written.
struct BufferTooSmall : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class F>
int32_t guarded(F&& body) noexcept {
    try {
        body();
        return SLT_OK;
    } catch (const InvalidArgument& e) {
        g_last_error = e.what();
        return SLT_INVALID_ARGUMENT;
    } catch (const InvalidState& e) {
        g_last_error = e.what();
        return SLT_INVALID_STATE;
    } catch (const BufferTooSmall& e) {
        g_last_error = e.what();
        return SLT_BUFFER_TOO_SMALL;
    } catch (const c10::Error& e) {
        g_last_error = e.what_without_backtrace();
        return SLT_ERROR;
    } catch (const std::exception& e) {
        g_last_error = e.what();
        return SLT_ERROR;
    } catch (...) {
        g_last_error = "An unknown C++ exception was thrown inside libtorch.";
        return SLT_ERROR;
    }
}

template <class T>
T& require(T* handle, const char* name) {
    if (handle == nullptr) {
        throw InvalidArgument(std::string(name) + " is null.");
    }
    return *handle;
}

void require_out(const void* pointer, const char* name) {
    if (pointer == nullptr) {
        throw InvalidArgument(std::string("The output pointer ") + name + " is null.");
    }
}

c10::ScalarType scalar_type(int32_t code) {
    switch (code) {
        case 0: return torch::kFloat32;
        case 1: return torch::kFloat64;
        case 2: return torch::kFloat16;
        case 3: return torch::kUInt8;
        case 4: return torch::kInt8;
        case 5: return torch::kInt16;
        case 6: return torch::kInt32;
        case 7: return torch::kInt64;
        case 8: return torch::kBool;
        default: throw InvalidArgument("Unknown element type code " + std::to_string(code) + ".");
    }
}

torch::Device device_of(int32_t type, int32_t index) {
    if (type == SLT_DEVICE_CPU) {
        return torch::Device(torch::kCPU);
    }
    if (type != SLT_DEVICE_CUDA) {
        throw InvalidArgument("Unknown device type code " + std::to_string(type) + ".");
    }
    if (!torch::cuda::is_available()) {
        throw InvalidArgument("CUDA is not available: this libtorch (" + std::string(TORCH_VERSION) +
                              ") was built without CUDA or no CUDA device is visible.");
    }
    const auto count = static_cast<int32_t>(torch::cuda::device_count());
    if (index < 0 || index >= count) {
        throw InvalidArgument("CUDA device " + std::to_string(index) + " does not exist; " + std::to_string(count) +
                              " device(s) are visible.");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

// Wraps host memory as a tensor without copying it: the caller keeps the memory alive while the tensor is used.
torch::Tensor wrap(const slt_tensor_view& view, const char* name) {
    if (view.ndim < 0 || view.ndim > SLT_MAX_DIMS) {
        throw InvalidArgument(std::string(name) + " has " + std::to_string(view.ndim) + " dimensions; 0 to " +
                              std::to_string(SLT_MAX_DIMS) + " are supported.");
    }
    const auto type = scalar_type(view.dtype);
    std::vector<int64_t> shape(view.shape, view.shape + view.ndim);
    int64_t elements = 1;
    for (const auto size : shape) {
        if (size < 0) {
            throw InvalidArgument(std::string(name) + " has a negative dimension.");
        }
        elements *= size;
    }
    const auto bytes = elements * static_cast<int64_t>(c10::elementSize(type));
    if (bytes > view.capacity_bytes) {
        throw InvalidArgument(std::string(name) + " needs " + std::to_string(bytes) + " bytes but its buffer holds " +
                              std::to_string(view.capacity_bytes) + ".");
    }
    if (view.data == nullptr && elements > 0) {
        throw InvalidArgument(std::string(name) + " has no data pointer.");
    }
    return torch::from_blob(view.data, shape, torch::TensorOptions().dtype(type));
}

// ---------------------------------------------------------------------------------------------------------------
// Models

struct Model {
    virtual ~Model() = default;
    virtual torch::Tensor forward(const torch::Tensor& input) = 0;
    virtual std::vector<torch::Tensor> parameters() = 0;
    virtual void set_training(bool training) = 0;
    virtual bool is_training() = 0;
    virtual void to(const torch::Device& device) = 0;
    virtual void save(const std::string& path) = 0;
    virtual void load(const std::string& path) = 0;
    virtual std::string describe() = 0;

    torch::Device device{torch::kCPU};
};

// linear, MLP and CNN: a torch::nn::Sequential. Features of any shape are flattened for the dense models; the CNN
// takes [n, channels, height, width] (or flat [n, channels·height·width], reshaped).
struct NnModel final : Model {
    NnModel(torch::nn::Sequential net, std::string kind, std::vector<int64_t> image)
        : net(std::move(net)), kind(std::move(kind)), image(std::move(image)) {}

    torch::Tensor forward(const torch::Tensor& input) override {
        auto x = input;
        if (!image.empty()) {
            if (x.dim() == 2) {
                x = x.view({x.size(0), image[0], image[1], image[2]});
            }
        } else if (x.dim() == 1) {
            x = x.unsqueeze(1);
        }
        return net->forward(x);
    }

    std::vector<torch::Tensor> parameters() override { return net->parameters(); }
    void set_training(bool training) override { net->train(training); }
    bool is_training() override { return net->is_training(); }

    void to(const torch::Device& target) override {
        net->to(target);
        device = target;
    }

    void save(const std::string& path) override {
        torch::serialize::OutputArchive archive;
        net->save(archive);
        archive.save_to(path);
    }

    // Loads into a clone first, so a file of another architecture is refused (Module::load alone would silently
    // replace each tensor with the file's, whatever its shape), then copies the values into this model's own
    // parameters, which an optimizer may hold.
    void load(const std::string& path) override {
        torch::serialize::InputArchive archive;
        archive.load_from(path, device);
        auto loaded = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone(device));
        loaded->load(archive);
        torch::NoGradGuard no_grad;
        copy_checked(net->named_parameters(), loaded->named_parameters(), path);
        copy_checked(net->named_buffers(), loaded->named_buffers(), path);
    }

    static void copy_checked(const torch::OrderedDict<std::string, torch::Tensor>& mine,
                             const torch::OrderedDict<std::string, torch::Tensor>& theirs, const std::string& path) {
        for (const auto& item : mine) {
            const auto* found = theirs.find(item.key());
            if (found == nullptr) {
                throw std::runtime_error("'" + path + "' has no tensor named '" + item.key() + "'.");
            }
            if (found->sizes() != item.value().sizes()) {
                std::ostringstream text;
                text << "'" << path << "' holds '" << item.key() << "' of shape " << found->sizes()
                     << " but this model's is " << item.value().sizes() << ": it was saved from another architecture.";
                throw std::runtime_error(text.str());
            }
            auto target = item.value();
            target.copy_(*found);
        }
    }

    std::string describe() override {
        std::ostringstream text;
        text << kind << ' ';
        net->pretty_print(text);
        text << " {";
        bool first = true;
        for (const auto& child : net->children()) {
            text << (first ? "" : ", ");
            child->pretty_print(text);
            first = false;
        }
        text << '}';
        // Print layers as PyTorch names them: Linear(...), not torch::nn::Linear(...).
        auto description = text.str();
        const std::string prefix = "torch::nn::";
        for (auto at = description.find(prefix); at != std::string::npos; at = description.find(prefix, at)) {
            description.erase(at, prefix.size());
        }
        return description;
    }

    torch::nn::Sequential net;
    std::string kind;
    std::vector<int64_t> image;  // [channels, height, width] for the CNN, empty otherwise
};

// Any module scripted or traced in PyTorch (torch.jit.script(model).save(path)): forward must take one tensor and
// return one tensor.
struct ScriptModel final : Model {
    ScriptModel(torch::jit::Module module, std::string path) : module(std::move(module)), path(std::move(path)) {}

    torch::Tensor forward(const torch::Tensor& input) override {
        auto output = module.forward({input});
        if (!output.isTensor()) {
            throw std::runtime_error("The TorchScript module '" + path + "' returned " + output.tagKind() +
                                     " from forward; a trainable module returns one tensor.");
        }
        return output.toTensor();
    }

    std::vector<torch::Tensor> parameters() override {
        std::vector<torch::Tensor> result;
        for (const auto& parameter : module.parameters()) {
            result.push_back(parameter);
        }
        return result;
    }

    void set_training(bool training) override { module.train(training); }
    bool is_training() override { return module.is_training(); }

    void to(const torch::Device& target) override {
        module.to(target);
        device = target;
    }

    void save(const std::string& target) override { module.save(target); }

    // Loads the parameters and buffers of a module saved by save() (or by PyTorch) into this one, by name.
    void load(const std::string& source) override {
        auto other = torch::jit::load(source, device);
        torch::NoGradGuard no_grad;
        copy_named(module.named_parameters(), other.named_parameters(), source);
        copy_named(module.named_buffers(), other.named_buffers(), source);
    }

    template <class List>
    static void copy_named(const List& mine, const List& theirs, const std::string& source) {
        std::unordered_map<std::string, torch::Tensor> by_name;
        for (const auto& item : theirs) {
            by_name.emplace(item.name, item.value);
        }
        for (const auto& item : mine) {
            const auto found = by_name.find(item.name);
            if (found == by_name.end()) {
                throw std::runtime_error("'" + source + "' has no tensor named '" + item.name + "'.");
            }
            if (found->second.sizes() != item.value.sizes()) {
                std::ostringstream text;
                text << "'" << source << "' holds '" << item.name << "' of shape " << found->second.sizes()
                     << " but the module's is " << item.value.sizes() << ".";
                throw std::runtime_error(text.str());
            }
            auto target = item.value;
            target.copy_(found->second);
        }
    }

    std::string describe() override {
        return "TorchScript " + module.type()->name()->qualifiedName() + " from '" + path + "'";
    }

    torch::jit::Module module;
    std::string path;
};

struct Optimizer {
    std::shared_ptr<Model> model;
    std::unique_ptr<torch::optim::Optimizer> optimizer;
};

}  // namespace

struct slt_model {
    explicit slt_model(std::shared_ptr<Model> created) : model(std::move(created)) {}

    std::shared_ptr<Model> model;
    torch::Tensor pending_output;  // a forward output that did not fit the caller's buffer, until it is read
};

struct slt_optimizer {
    std::shared_ptr<Optimizer> box;
};

namespace {

// ---------------------------------------------------------------------------------------------------------------
// CUDA host registration, resolved at run time from the CUDA runtime that libtorch loaded.

struct CudaHostApi {
    using RegisterFn = int (*)(void*, size_t, unsigned int);
    using UnregisterFn = int (*)(void*);
    using GetLastErrorFn = int (*)();

    RegisterFn register_memory = nullptr;
    UnregisterFn unregister_memory = nullptr;
    GetLastErrorFn get_last_error = nullptr;

    static const CudaHostApi& get() {
        static const CudaHostApi api = resolve();
        return api;
    }

   private:
    static void* find(const char* symbol) {
        if (void* found = dlsym(RTLD_DEFAULT, symbol)) {
            return found;
        }
        // libtorch may have loaded the CUDA runtime into a local scope: find the already-loaded library by name.
        for (const char* name : {"libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"}) {
            if (void* library = dlopen(name, RTLD_LAZY | RTLD_NOLOAD)) {
                void* found = dlsym(library, symbol);
                dlclose(library);
                if (found != nullptr) {
                    return found;
                }
            }
        }
        return nullptr;
    }

    static CudaHostApi resolve() {
        CudaHostApi api;
        api.register_memory = reinterpret_cast<RegisterFn>(find("cudaHostRegister"));
        api.unregister_memory = reinterpret_cast<UnregisterFn>(find("cudaHostUnregister"));
        api.get_last_error = reinterpret_cast<GetLastErrorFn>(find("cudaGetLastError"));
        return api;
    }
};

// Page-locks each pooled host buffer once, so copies from it run asynchronously; unregisters them all at the end.
// The loader's pool is bounded, so the registry is too.
class PinRegistry {
   public:
    PinRegistry() = default;
    PinRegistry(const PinRegistry&) = delete;
    PinRegistry& operator=(const PinRegistry&) = delete;

    ~PinRegistry() { clear(); }

    void ensure(void* data, int64_t bytes) {
        if (data == nullptr || bytes <= 0 || pinned_.count(data) != 0 || failed_.count(data) != 0) {
            return;
        }
        const auto& api = CudaHostApi::get();
        if (api.register_memory == nullptr) {
            failed_.emplace(data);
            return;
        }
        const int status = api.register_memory(data, static_cast<size_t>(bytes), 0);
        constexpr int already_registered = 712;  // cudaErrorHostMemoryAlreadyRegistered
        if (status == 0) {
            pinned_.emplace(data, bytes);
        } else {
            // Copies from pageable memory stay correct, only synchronous; clear the error so that libtorch's next
            // kernel-launch check does not report it.
            if (api.get_last_error != nullptr) {
                api.get_last_error();
            }
            if (status != already_registered) {
                failed_.emplace(data);
            }
        }
    }

    int64_t count() const { return static_cast<int64_t>(pinned_.size()); }

    void clear() noexcept {
        const auto& api = CudaHostApi::get();
        if (api.unregister_memory != nullptr) {
            for (const auto& entry : pinned_) {
                api.unregister_memory(entry.first);
            }
            if (api.get_last_error != nullptr) {
                api.get_last_error();
            }
        }
        pinned_.clear();
        failed_.clear();
    }

   private:
    std::map<void*, int64_t> pinned_;
    std::set<void*> failed_;  // could not be registered: copies from them run synchronously
};

// ---------------------------------------------------------------------------------------------------------------
// Trainer

struct Staged {
    torch::Tensor features;  // on the trainer's device (CPU: the host memory itself)
    torch::Tensor labels;
    int64_t count = 0;
    std::optional<c10::Event> copied;  // CUDA: recorded on the copy stream after both copies
    bool stepped = false;
};

class Trainer {
   public:
    Trainer(std::shared_ptr<Model> model, std::shared_ptr<Optimizer> optimizer, int32_t loss, torch::Device device,
            double feature_scale, bool page_lock)
        : model_(std::move(model)),
          optimizer_(std::move(optimizer)),
          loss_(loss),
          device_(device),
          feature_scale_(feature_scale),
          page_lock_(page_lock) {
        if (loss != SLT_LOSS_MSE && loss != SLT_LOSS_CROSS_ENTROPY) {
            throw InvalidArgument("Unknown loss code " + std::to_string(loss) + ".");
        }
        if (model_->device != device_) {
            model_->to(device_);
        }
        if (device_.is_cuda()) {
            guard_.emplace(c10::DeviceType::CUDA);
            copy_stream_.emplace(guard_->getStreamFromGlobalPool(device_, /*isHighPriority=*/false));
        }
        reset_totals();
    }

    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    ~Trainer() {
        try {
            synchronize();
        } catch (...) {
            // Freeing must not throw; a device error was already reported by the call that caused it.
        }
        staged_.clear();
        held_.clear();
        pins_.clear();
    }

    void stage(const slt_tensor_view& features_view, const slt_tensor_view& labels_view) {
        auto features = wrap(features_view, "The features");
        auto labels = wrap(labels_view, "The labels");
        if (features.dim() == 0 || labels.dim() == 0 || features.size(0) != labels.size(0)) {
            std::ostringstream text;
            text << "The features " << features.sizes() << " and labels " << labels.sizes()
                 << " must have the same first (batch) dimension.";
            throw InvalidArgument(text.str());
        }
        auto batch = std::make_shared<Staged>();
        batch->count = features.size(0);
        if (device_.is_cpu()) {
            batch->features = features;
            batch->labels = labels;
        } else {
            if (page_lock_) {
                pins_.ensure(features_view.data, features_view.capacity_bytes);
                pins_.ensure(labels_view.data, labels_view.capacity_bytes);
            }
            c10::StreamGuard on_copy_stream(*copy_stream_);
            batch->features = features.to(device_, features.scalar_type(), /*non_blocking=*/true);
            batch->labels = labels.to(device_, labels.scalar_type(), /*non_blocking=*/true);
            batch->copied.emplace(c10::DeviceType::CUDA);
            batch->copied->record(*copy_stream_);
            bytes_copied_ += features.nbytes() + labels.nbytes();
        }
        staged_.push_back(batch);
        held_.push_back(std::move(batch));
    }

    void step(bool train) {
        if (staged_.empty()) {
            throw InvalidState("No batch is staged: stage one before stepping.");
        }
        if (train && optimizer_ == nullptr) {
            throw InvalidState("This trainer has no optimizer: it can only evaluate.");
        }
        auto batch = staged_.front();
        staged_.pop_front();
        batch->stepped = true;

        if (device_.is_cuda()) {
            const auto compute = guard_->getStream(device_);
            batch->copied->block(compute);
            // The device tensors were allocated on the copy stream: tell the caching allocator they are used on
            // the compute stream too, so their memory is not reused before this step has run.
            batch->features.record_stream(compute);
            batch->labels.record_stream(compute);
        }

        if (model_->is_training() != train) {
            model_->set_training(train);
        }

        auto features = prepare_features(batch->features);
        torch::Tensor output;
        torch::Tensor loss;
        torch::Tensor labels;
        if (train) {
            optimizer_->optimizer->zero_grad();
            output = model_->forward(features);
            labels = prepare_labels(batch->labels, output);
            loss = compute_loss(output, labels);
            loss.backward();
            optimizer_->optimizer->step();
        } else {
            torch::NoGradGuard no_grad;
            output = model_->forward(features);
            labels = prepare_labels(batch->labels, output);
            loss = compute_loss(output, labels);
        }

        {
            torch::NoGradGuard no_grad;
            last_loss_ = loss.detach();
            loss_sum_.add_(last_loss_.to(torch::kFloat64) * static_cast<double>(batch->count));
            if (loss_ == SLT_LOSS_CROSS_ENTROPY) {
                last_correct_ = output.detach().argmax(1).eq(labels).sum();
                correct_.add_(last_correct_);
            }
            last_count_ = batch->count;
            count_ += batch->count;
        }
        ++steps_;

        // The step no longer needs the batch: drop the tensors (on the CPU they are views of the host buffer).
        batch->features = torch::Tensor();
        batch->labels = torch::Tensor();
    }

    int32_t release(int32_t max_held) {
        int32_t released = 0;
        while (!held_.empty()) {
            const auto& oldest = held_.front();
            const bool wait = max_held >= 0 && static_cast<int64_t>(held_.size()) > max_held;
            if (!host_free(*oldest)) {
                if (!wait) {
                    break;
                }
                if (device_.is_cpu()) {
                    throw InvalidState("A batch cannot be released before it is stepped: on the CPU the step reads "
                                       "its memory in place.");
                }
                guard_->synchronizeStream(*copy_stream_);
                continue;
            }
            held_.pop_front();
            ++released;
        }
        return released;
    }

    void last_step(double* loss, int64_t* correct, int64_t* count) const {
        if (!last_loss_.defined()) {
            throw InvalidState("No step has run yet.");
        }
        *loss = last_loss_.item<double>();
        *correct = last_correct_.defined() ? last_correct_.item<int64_t>() : 0;
        *count = last_count_;
    }

    // Drops every staged batch after waiting for the device: after an error, so the host buffers can be returned.
    void reset() {
        synchronize();
        staged_.clear();
        held_.clear();
        reset_totals();
    }

    void totals(bool reset, double* loss_sum, int64_t* correct, int64_t* count) {
        *loss_sum = loss_sum_.item<double>();
        *correct = correct_.item<int64_t>();
        *count = count_;
        if (reset) {
            reset_totals();
        }
    }

    void stats(slt_trainer_stats* out) const {
        out->staged = static_cast<int32_t>(staged_.size());
        out->host_held = static_cast<int32_t>(held_.size());
        out->pinned_buffers = pins_.count();
        out->bytes_copied = bytes_copied_;
        out->steps = steps_;
    }

    void synchronize() {
        if (device_.is_cuda()) {
            guard_->synchronizeStream(*copy_stream_);
            guard_->synchronizeStream(guard_->getStream(device_));
        }
    }

   private:
    bool host_free(const Staged& batch) const {
        if (device_.is_cpu()) {
            return batch.stepped;
        }
        return batch.copied->query();
    }

    torch::Tensor prepare_features(const torch::Tensor& features) const {
        if (c10::isFloatingType(features.scalar_type())) {
            return features.scalar_type() == torch::kFloat32 ? features : features.to(torch::kFloat32);
        }
        auto converted = features.to(torch::kFloat32);
        return feature_scale_ == 1.0 ? converted : converted.mul_(feature_scale_);
    }

    torch::Tensor prepare_labels(const torch::Tensor& labels, const torch::Tensor& output) const {
        if (loss_ == SLT_LOSS_CROSS_ENTROPY) {
            if (c10::isFloatingType(labels.scalar_type())) {
                throw InvalidArgument("Cross-entropy takes integer class labels; the labels are floating point.");
            }
            auto classes = labels.scalar_type() == torch::kInt64 ? labels : labels.to(torch::kInt64);
            return classes.dim() == 1 ? classes : classes.reshape({classes.size(0)});
        }
        auto targets = labels.scalar_type() == output.scalar_type() ? labels : labels.to(output.scalar_type());
        if (targets.sizes() != output.sizes() && targets.numel() == output.numel()) {
            targets = targets.view_as(output);
        }
        return targets;
    }

    torch::Tensor compute_loss(const torch::Tensor& output, const torch::Tensor& labels) const {
        if (loss_ == SLT_LOSS_CROSS_ENTROPY) {
            return torch::nn::functional::cross_entropy(output, labels);
        }
        return torch::mse_loss(output, labels);
    }

    void reset_totals() {
        const auto options = torch::TensorOptions().device(device_);
        loss_sum_ = torch::zeros({}, options.dtype(torch::kFloat64));
        correct_ = torch::zeros({}, options.dtype(torch::kInt64));
        count_ = 0;
    }

    std::shared_ptr<Model> model_;
    std::shared_ptr<Optimizer> optimizer_;
    int32_t loss_;
    torch::Device device_;
    double feature_scale_;
    bool page_lock_;

    std::optional<c10::impl::VirtualGuardImpl> guard_;  // CUDA only
    std::optional<c10::Stream> copy_stream_;            // CUDA only
    PinRegistry pins_;

    std::deque<std::shared_ptr<Staged>> staged_;  // staged, not yet stepped (in order)
    std::deque<std::shared_ptr<Staged>> held_;    // still using host memory (in order)

    torch::Tensor last_loss_;
    torch::Tensor last_correct_;
    int64_t last_count_ = 0;
    torch::Tensor loss_sum_;
    torch::Tensor correct_;
    int64_t count_ = 0;
    int64_t steps_ = 0;
    int64_t bytes_copied_ = 0;
};

std::shared_ptr<Model> make_nn(torch::nn::Sequential net, std::string kind, std::vector<int64_t> image) {
    return std::make_shared<NnModel>(std::move(net), std::move(kind), std::move(image));
}

void check_positive(int64_t value, const char* name) {
    if (value <= 0) {
        throw InvalidArgument(std::string(name) + " must be positive; it is " + std::to_string(value) + ".");
    }
}

}  // namespace

struct slt_trainer {
    std::unique_ptr<Trainer> trainer;
};

extern "C" {

SLT_API const char* slt_last_error(void) { return g_last_error.c_str(); }

SLT_API int32_t slt_abi_version(void) { return SLT_ABI_VERSION; }

SLT_API int32_t slt_runtime_info_get(slt_runtime_info* info) {
    return guarded([&] {
        require_out(info, "info");
        std::memset(info, 0, sizeof(*info));
        info->abi_version = SLT_ABI_VERSION;
        info->cuda_available = torch::cuda::is_available() ? 1 : 0;
        info->cuda_device_count = static_cast<int32_t>(torch::cuda::device_count());
#ifdef SLT_WITH_CUDA
        info->built_with_cuda = 1;
#endif
        info->num_threads = at::get_num_threads();
        info->num_interop_threads = at::get_num_interop_threads();
        std::strncpy(info->torch_version, TORCH_VERSION, sizeof(info->torch_version) - 1);
    });
}

SLT_API int32_t slt_set_num_threads(int32_t threads) {
    return guarded([&] {
        check_positive(threads, "The thread count");
        at::set_num_threads(threads);
    });
}

SLT_API int32_t slt_manual_seed(uint64_t seed) {
    return guarded([&] { torch::manual_seed(seed); });
}

SLT_API int32_t slt_model_linear(int64_t inputs, int64_t outputs, slt_model** model) {
    return guarded([&] {
        require_out(model, "model");
        check_positive(inputs, "The input size");
        check_positive(outputs, "The output size");
        torch::nn::Sequential net(torch::nn::Flatten(), torch::nn::Linear(inputs, outputs));
        *model = new slt_model{make_nn(net, "Linear", {})};
    });
}

SLT_API int32_t slt_model_mlp(const int64_t* sizes, int32_t count, slt_model** model) {
    return guarded([&] {
        require_out(model, "model");
        if (sizes == nullptr || count < 2) {
            throw InvalidArgument("An MLP needs at least an input size and an output size.");
        }
        torch::nn::Sequential net{torch::nn::Flatten()};
        for (int32_t i = 0; i + 1 < count; ++i) {
            check_positive(sizes[i], "A layer size");
            check_positive(sizes[i + 1], "A layer size");
            net->push_back(torch::nn::Linear(sizes[i], sizes[i + 1]));
            if (i + 2 < count) {
                net->push_back(torch::nn::ReLU());
            }
        }
        *model = new slt_model{make_nn(net, "MLP", {})};
    });
}

SLT_API int32_t slt_model_cnn(int64_t channels, int64_t height, int64_t width, int64_t classes, int64_t conv1,
                              int64_t conv2, int64_t hidden, slt_model** model) {
    return guarded([&] {
        require_out(model, "model");
        check_positive(channels, "The channel count");
        check_positive(classes, "The class count");
        check_positive(conv1, "The first convolution's channel count");
        check_positive(conv2, "The second convolution's channel count");
        check_positive(hidden, "The hidden layer size");
        if (height < 4 || width < 4) {
            throw InvalidArgument("The CNN pools twice by 2: images must be at least 4×4.");
        }
        using namespace torch::nn;
        Sequential net(
            Conv2d(Conv2dOptions(channels, conv1, 3).padding(1)), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
            Conv2d(Conv2dOptions(conv1, conv2, 3).padding(1)), ReLU(), MaxPool2d(MaxPool2dOptions(2)), Flatten(),
            Linear(conv2 * (height / 4) * (width / 4), hidden), ReLU(), Linear(hidden, classes));
        *model = new slt_model{make_nn(net, "CNN", {channels, height, width})};
    });
}

SLT_API int32_t slt_model_load_script(const char* path, slt_model** model) {
    return guarded([&] {
        require_out(model, "model");
        if (path == nullptr) {
            throw InvalidArgument("The path is null.");
        }
        auto module = torch::jit::load(path);
        *model = new slt_model{std::make_shared<ScriptModel>(std::move(module), path)};
    });
}

SLT_API void slt_model_free(slt_model* model) { delete model; }

SLT_API int32_t slt_model_parameter_count(slt_model* model, int64_t* count) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(count, "count");
        int64_t total = 0;
        for (const auto& parameter : m.model->parameters()) {
            total += parameter.numel();
        }
        *count = total;
    });
}

SLT_API int32_t slt_model_to(slt_model* model, int32_t device_type, int32_t device_index) {
    return guarded([&] {
        auto& m = require(model, "The model");
        m.model->to(device_of(device_type, device_index));
    });
}

SLT_API int32_t slt_model_set_training(slt_model* model, int32_t training) {
    return guarded([&] { require(model, "The model").model->set_training(training != 0); });
}

SLT_API int32_t slt_model_is_training(slt_model* model, int32_t* training) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(training, "training");
        *training = m.model->is_training() ? 1 : 0;
    });
}

SLT_API int32_t slt_model_save(slt_model* model, const char* path) {
    return guarded([&] {
        auto& m = require(model, "The model");
        if (path == nullptr) {
            throw InvalidArgument("The path is null.");
        }
        m.model->save(path);
    });
}

SLT_API int32_t slt_model_load(slt_model* model, const char* path) {
    return guarded([&] {
        auto& m = require(model, "The model");
        if (path == nullptr) {
            throw InvalidArgument("The path is null.");
        }
        m.model->load(path);
    });
}

SLT_API int32_t slt_model_describe(slt_model* model, char* buffer, int64_t capacity, int64_t* needed) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(needed, "needed");
        const auto text = m.model->describe();
        *needed = static_cast<int64_t>(text.size()) + 1;
        if (buffer == nullptr || capacity < *needed) {
            throw BufferTooSmall("The description needs " + std::to_string(*needed) + " bytes.");
        }
        std::memcpy(buffer, text.c_str(), text.size() + 1);
    });
}

SLT_API int32_t slt_model_forward(slt_model* model, const slt_tensor_view* input, float* output, int64_t capacity,
                                  int64_t* output_shape, int32_t* output_ndim) {
    return guarded([&] {
        auto& m = require(model, "The model");
        const auto& view = require(input, "The input");
        require_out(output_shape, "output_shape");
        require_out(output_ndim, "output_ndim");
        torch::NoGradGuard no_grad;
        auto x = wrap(view, "The input").to(m.model->device);
        if (!c10::isFloatingType(x.scalar_type()) || x.scalar_type() != torch::kFloat32) {
            x = x.to(torch::kFloat32);
        }
        auto y = m.model->forward(x).to(torch::kCPU, torch::kFloat32).contiguous();
        if (y.dim() > SLT_MAX_DIMS) {
            throw std::runtime_error("The output has more than " + std::to_string(SLT_MAX_DIMS) + " dimensions.");
        }
        *output_ndim = static_cast<int32_t>(y.dim());
        for (int64_t i = 0; i < y.dim(); ++i) {
            output_shape[i] = y.size(i);
        }
        if (output == nullptr || capacity < y.numel()) {
            m.pending_output = y;
            throw BufferTooSmall("The output needs " + std::to_string(y.numel()) + " values.");
        }
        m.pending_output = torch::Tensor();
        std::memcpy(output, y.data_ptr<float>(), static_cast<size_t>(y.numel()) * sizeof(float));
    });
}

SLT_API int32_t slt_model_read_output(slt_model* model, float* output, int64_t capacity) {
    return guarded([&] {
        auto& m = require(model, "The model");
        if (!m.pending_output.defined()) {
            throw InvalidState("No forward output is waiting to be read.");
        }
        if (output == nullptr || capacity < m.pending_output.numel()) {
            throw BufferTooSmall("The output needs " + std::to_string(m.pending_output.numel()) + " values.");
        }
        std::memcpy(output, m.pending_output.data_ptr<float>(),
                    static_cast<size_t>(m.pending_output.numel()) * sizeof(float));
        m.pending_output = torch::Tensor();
    });
}

SLT_API int32_t slt_optimizer_sgd(slt_model* model, double lr, double momentum, double dampening, double weight_decay,
                                  int32_t nesterov, slt_optimizer** optimizer) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(optimizer, "optimizer");
        if (!(lr > 0)) {
            throw InvalidArgument("The learning rate must be positive.");
        }
        auto options = torch::optim::SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(
            weight_decay).nesterov(nesterov != 0);
        auto box = std::make_shared<Optimizer>();
        box->model = m.model;
        box->optimizer = std::make_unique<torch::optim::SGD>(m.model->parameters(), options);
        *optimizer = new slt_optimizer{std::move(box)};
    });
}

SLT_API int32_t slt_optimizer_adam(slt_model* model, double lr, double beta1, double beta2, double eps,
                                   double weight_decay, slt_optimizer** optimizer) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(optimizer, "optimizer");
        if (!(lr > 0)) {
            throw InvalidArgument("The learning rate must be positive.");
        }
        auto options =
            torch::optim::AdamOptions(lr).betas(std::make_tuple(beta1, beta2)).eps(eps).weight_decay(weight_decay);
        auto box = std::make_shared<Optimizer>();
        box->model = m.model;
        box->optimizer = std::make_unique<torch::optim::Adam>(m.model->parameters(), options);
        *optimizer = new slt_optimizer{std::move(box)};
    });
}

SLT_API int32_t slt_optimizer_set_lr(slt_optimizer* optimizer, double lr) {
    return guarded([&] {
        auto& o = require(optimizer, "The optimizer");
        if (!(lr > 0)) {
            throw InvalidArgument("The learning rate must be positive.");
        }
        for (auto& group : o.box->optimizer->param_groups()) {
            group.options().set_lr(lr);
        }
    });
}

SLT_API int32_t slt_optimizer_get_lr(slt_optimizer* optimizer, double* lr) {
    return guarded([&] {
        auto& o = require(optimizer, "The optimizer");
        require_out(lr, "lr");
        *lr = o.box->optimizer->param_groups().front().options().get_lr();
    });
}

SLT_API void slt_optimizer_free(slt_optimizer* optimizer) { delete optimizer; }

SLT_API int32_t slt_trainer_create(slt_model* model, slt_optimizer* optimizer, int32_t loss, int32_t device_type,
                                   int32_t device_index, double feature_scale, int32_t page_lock,
                                   slt_trainer** trainer) {
    return guarded([&] {
        auto& m = require(model, "The model");
        require_out(trainer, "trainer");
        std::shared_ptr<Optimizer> box;
        if (optimizer != nullptr) {
            box = optimizer->box;
            if (box->model != m.model) {
                throw InvalidArgument("The optimizer was created for another model.");
            }
        }
        auto created = std::make_unique<Trainer>(m.model, box, loss, device_of(device_type, device_index),
                                                 feature_scale, page_lock != 0);
        *trainer = new slt_trainer{std::move(created)};
    });
}

SLT_API int32_t slt_trainer_stage(slt_trainer* trainer, const slt_tensor_view* features, const slt_tensor_view* labels) {
    return guarded([&] {
        auto& t = require(trainer, "The trainer");
        t.trainer->stage(require(features, "The features"), require(labels, "The labels"));
    });
}

SLT_API int32_t slt_trainer_step(slt_trainer* trainer, int32_t train) {
    return guarded([&] { require(trainer, "The trainer").trainer->step(train != 0); });
}

SLT_API int32_t slt_trainer_release(slt_trainer* trainer, int32_t max_held, int32_t* released) {
    return guarded([&] {
        auto& t = require(trainer, "The trainer");
        require_out(released, "released");
        *released = 0;
        *released = t.trainer->release(max_held);
    });
}

SLT_API int32_t slt_trainer_last_step(slt_trainer* trainer, double* loss, int64_t* correct, int64_t* count) {
    return guarded([&] {
        auto& t = require(trainer, "The trainer");
        require_out(loss, "loss");
        require_out(correct, "correct");
        require_out(count, "count");
        t.trainer->last_step(loss, correct, count);
    });
}

SLT_API int32_t slt_trainer_reset(slt_trainer* trainer) {
    return guarded([&] { require(trainer, "The trainer").trainer->reset(); });
}

SLT_API int32_t slt_trainer_totals(slt_trainer* trainer, int32_t reset, double* loss_sum, int64_t* correct,
                                   int64_t* count) {
    return guarded([&] {
        auto& t = require(trainer, "The trainer");
        require_out(loss_sum, "loss_sum");
        require_out(correct, "correct");
        require_out(count, "count");
        t.trainer->totals(reset != 0, loss_sum, correct, count);
    });
}

SLT_API int32_t slt_trainer_stats_get(slt_trainer* trainer, slt_trainer_stats* stats) {
    return guarded([&] {
        auto& t = require(trainer, "The trainer");
        require_out(stats, "stats");
        t.trainer->stats(stats);
    });
}

SLT_API int32_t slt_trainer_synchronize(slt_trainer* trainer) {
    return guarded([&] { require(trainer, "The trainer").trainer->synchronize(); });
}

SLT_API void slt_trainer_free(slt_trainer* trainer) { delete trainer; }

}  // extern "C"
