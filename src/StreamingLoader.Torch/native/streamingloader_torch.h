/*
 * streamingloader_torch: a small C ABI over libtorch's C++ API for StreamingLoader.Torch.
 *
 * Conventions
 *   - Every function that can fail returns SLT_OK (0) or an error code; the message (libtorch's own text for a
 *     c10::Error) is kept per thread and read with slt_last_error() on the same thread, right after the call.
 *     No C++ exception ever crosses this boundary.
 *   - Handles are opaque; each *_free function accepts NULL and must be called exactly once per handle. A trainer
 *     keeps its model and optimizer alive, so handles may be freed in any order.
 *   - Element type codes are those of StreamingLoader.ElementType (Float32 = 0 ... Bool = 8).
 */
#ifndef STREAMINGLOADER_TORCH_H
#define STREAMINGLOADER_TORCH_H

#include <stdint.h>

#if defined(_WIN32)
#define SLT_API __declspec(dllexport)
#else
#define SLT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SLT_ABI_VERSION 1

enum slt_status {
    SLT_OK = 0,
    SLT_ERROR = 1,            /* libtorch (c10::Error) or another std::exception */
    SLT_INVALID_ARGUMENT = 2, /* a bad argument, caught before libtorch ran */
    SLT_BUFFER_TOO_SMALL = 3, /* an output buffer is too small; the needed size was written */
    SLT_INVALID_STATE = 4     /* the call is not valid now (for example a step with nothing staged) */
};

enum slt_device_type { SLT_DEVICE_CPU = 0, SLT_DEVICE_CUDA = 1 };

enum slt_loss { SLT_LOSS_MSE = 0, SLT_LOSS_CROSS_ENTROPY = 1 };

#define SLT_MAX_DIMS 8

/* A host tensor to wrap without a copy (torch::from_blob). */
typedef struct slt_tensor_view {
    void* data;
    int64_t shape[SLT_MAX_DIMS];
    int32_t ndim;
    int32_t dtype;
    int64_t capacity_bytes; /* bytes the buffer holds (>= the bytes of this shape): the range that is page-locked */
} slt_tensor_view;

typedef struct slt_runtime_info {
    int32_t abi_version;
    int32_t cuda_available;
    int32_t cuda_device_count;
    int32_t built_with_cuda;
    int32_t num_threads;
    int32_t num_interop_threads;
    char torch_version[32];
} slt_runtime_info;

typedef struct slt_trainer_stats {
    int32_t staged;          /* batches staged and not yet stepped */
    int32_t host_held;       /* batches whose host memory is still in use (copy not finished, or not yet stepped on CPU) */
    int64_t pinned_buffers;  /* host buffers page-locked for asynchronous copies (CUDA) */
    int64_t bytes_copied;    /* bytes copied host to device (CUDA) */
    int64_t steps;           /* steps since creation */
} slt_trainer_stats;

typedef struct slt_model slt_model;
typedef struct slt_optimizer slt_optimizer;
typedef struct slt_trainer slt_trainer;

SLT_API const char* slt_last_error(void);
SLT_API int32_t slt_abi_version(void);
SLT_API int32_t slt_runtime_info_get(slt_runtime_info* info);
SLT_API int32_t slt_set_num_threads(int32_t threads);
SLT_API int32_t slt_manual_seed(uint64_t seed);

SLT_API int32_t slt_model_linear(int64_t inputs, int64_t outputs, slt_model** model);
SLT_API int32_t slt_model_mlp(const int64_t* sizes, int32_t count, slt_model** model);
SLT_API int32_t slt_model_cnn(int64_t channels, int64_t height, int64_t width, int64_t classes,
                              int64_t conv1, int64_t conv2, int64_t hidden, slt_model** model);
SLT_API int32_t slt_model_load_script(const char* path, slt_model** model);
SLT_API void slt_model_free(slt_model* model);
SLT_API int32_t slt_model_parameter_count(slt_model* model, int64_t* count);
SLT_API int32_t slt_model_to(slt_model* model, int32_t device_type, int32_t device_index);
SLT_API int32_t slt_model_set_training(slt_model* model, int32_t training);
SLT_API int32_t slt_model_is_training(slt_model* model, int32_t* training);
SLT_API int32_t slt_model_save(slt_model* model, const char* path);
SLT_API int32_t slt_model_load(slt_model* model, const char* path);
/* Writes the description (UTF-8, NUL-terminated) if it fits; *needed gets its size including the NUL. */
SLT_API int32_t slt_model_describe(slt_model* model, char* buffer, int64_t capacity, int64_t* needed);
/* Runs forward without gradients; writes the Float32 output if it fits, and its shape in any case. */
SLT_API int32_t slt_model_forward(slt_model* model, const slt_tensor_view* input, float* output, int64_t capacity,
                                  int64_t* output_shape, int32_t* output_ndim);
/* Copies the output of the last slt_model_forward that returned SLT_BUFFER_TOO_SMALL. */
SLT_API int32_t slt_model_read_output(slt_model* model, float* output, int64_t capacity);

SLT_API int32_t slt_optimizer_sgd(slt_model* model, double lr, double momentum, double dampening, double weight_decay,
                                  int32_t nesterov, slt_optimizer** optimizer);
SLT_API int32_t slt_optimizer_adam(slt_model* model, double lr, double beta1, double beta2, double eps,
                                   double weight_decay, slt_optimizer** optimizer);
SLT_API int32_t slt_optimizer_set_lr(slt_optimizer* optimizer, double lr);
SLT_API int32_t slt_optimizer_get_lr(slt_optimizer* optimizer, double* lr);
SLT_API void slt_optimizer_free(slt_optimizer* optimizer);

/* optimizer may be NULL for an evaluation-only trainer. feature_scale multiplies integer features after their
   conversion to Float32 on the device (1/255 for raw pixels). */
SLT_API int32_t slt_trainer_create(slt_model* model, slt_optimizer* optimizer, int32_t loss, int32_t device_type,
                                   int32_t device_index, double feature_scale, int32_t page_lock,
                                   slt_trainer** trainer);
/* Wraps the batch without a copy; on CUDA starts its copy to the device on the side stream. */
SLT_API int32_t slt_trainer_stage(slt_trainer* trainer, const slt_tensor_view* features, const slt_tensor_view* labels);
/* Runs the oldest staged batch: a training step (train != 0) or an evaluation (no gradients, no update). */
SLT_API int32_t slt_trainer_step(slt_trainer* trainer, int32_t train);
/* Forgets the oldest batches whose host memory is no longer used, in staging order, and counts them in *released.
   With max_held >= 0 it then waits (CUDA copies) until at most max_held batches hold host memory. */
SLT_API int32_t slt_trainer_release(slt_trainer* trainer, int32_t max_held, int32_t* released);
/* The last step's mean loss, correct predictions (cross-entropy) and samples (waits for the device). */
SLT_API int32_t slt_trainer_last_step(slt_trainer* trainer, double* loss, int64_t* correct, int64_t* count);
/* Waits for the device, then drops every staged batch and the sums: after an error, before returning the batches. */
SLT_API int32_t slt_trainer_reset(slt_trainer* trainer);
/* Sums since the last reset (waits for the device): loss × samples, correct predictions (cross-entropy), samples. */
SLT_API int32_t slt_trainer_totals(slt_trainer* trainer, int32_t reset, double* loss_sum, int64_t* correct,
                                   int64_t* count);
SLT_API int32_t slt_trainer_stats_get(slt_trainer* trainer, slt_trainer_stats* stats);
/* Waits until every copy and step issued so far has finished. */
SLT_API int32_t slt_trainer_synchronize(slt_trainer* trainer);
/* Waits for the device, then frees the trainer (its staged batches are dropped, page-locked buffers unregistered). */
SLT_API void slt_trainer_free(slt_trainer* trainer);

#ifdef __cplusplus
}
#endif

#endif
