#!/usr/bin/python3
"""The PyTorch side of the libtorch benchmark: Fashion-MNIST with torch.utils.data.DataLoader and PyTorch's own
training loop, the same model, optimizer, batch size and data as samples/FashionMnistTorch.

Run it with Debian's python3-torch (/usr/bin/python3, PyTorch 1.13 on Debian's libtorch; the .NET side runs TorchSharp's libtorch 2.10), not a
pyenv python3:

    /usr/bin/python3 tests/StreamingLoader.Benchmarks/torch/pytorch_fashion.py --model mlp --epochs 3 --num-workers 0

The dataset is torchvision's FashionMNIST as it reads a sample (an image of the IDX file, ToTensor, Normalize), written
without torchvision (Debian has no python3-torchvision here) and without PIL, which only makes PyTorch's side faster
than torchvision's own would be. Each epoch's training loop (loading included, evaluation excluded) is timed with
time.perf_counter, as the sample times its TrainEpochAsync.

Threads as the .NET side: --threads sets torch.set_num_threads and OpenBLAS's own pool (set_blas_threads); gradients
are set to none as PyTorch 2 does by default and as TorchEpochs does.

Prints one line per epoch and, last, `RESULT {json}` with the per-epoch seconds, CPU seconds (this process: with
num_workers > 0 the workers' loading is left out) and test accuracies.
"""
import argparse
import ctypes
import ctypes.util
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

MEAN, STD = 0.2860, 0.3530  # FashionMnist.Mean / FashionMnist.Std of StreamingLoader


def read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(root: str, name: str) -> str:
    for candidate in (os.path.join(root, name + ".gz"), os.path.join(root, name)):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"{name}[.gz] is not in {root}: apt-get install dataset-fashion-mnist")


class FashionMNIST(Dataset):
    """torchvision.datasets.FashionMNIST(root, train, transform=Compose([ToTensor(), Normalize(MEAN, STD)]))."""

    def __init__(self, root: str, train: bool) -> None:
        prefix = "train" if train else "t10k"
        self.images = torch.from_numpy(read_idx(find(root, f"{prefix}-images-idx3-ubyte")).copy())
        self.labels = torch.from_numpy(read_idx(find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index].unsqueeze(0).float().div(255)  # ToTensor: [1, 28, 28] in [0, 1]
        image = image.sub(MEAN).div(STD)  # Normalize
        return image, int(self.labels[index])


def set_blas_threads(threads: int) -> int:
    """Debian's torch runs its matrix products in OpenBLAS (libblas.so.3 -> openblas-pthread), whose own thread pool
    torch.set_num_threads does not reach (one thread per core by default): without this, --threads 1 still ran every
    GEMM on two cores here (CPU time / wall time 2.0). Returns OpenBLAS's thread count, or 0 where it is not loaded."""
    for name in ("openblas", "blas"):
        path = ctypes.util.find_library(name)
        if path is None:
            continue
        lib = ctypes.CDLL(path)
        if hasattr(lib, "openblas_set_num_threads"):
            if threads > 0:
                lib.openblas_set_num_threads(threads)
            return lib.openblas_get_num_threads()
    return 0


def mlp(hidden):
    layers, width = [nn.Flatten()], 28 * 28
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def cnn(conv1: int, conv2: int, hidden: int):
    return nn.Sequential(
        nn.Conv2d(1, conv1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(conv1, conv2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(conv2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--hidden", default="256,128,100")
    parser.add_argument("--conv", default="32,64")
    parser.add_argument("--cnn-hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=1.0)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps libtorch's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    blas_threads = set_blas_threads(args.threads)
    torch.manual_seed(args.seed)
    train_data, test_data = FashionMNIST(args.root, True), FashionMNIST(args.root, False)
    train_loader = DataLoader(train_data, batch_size=args.batch_size, shuffle=True, num_workers=args.num_workers,
                              persistent_workers=args.num_workers > 0)
    test_loader = DataLoader(test_data, batch_size=1000, num_workers=args.num_workers)
    if args.model == "mlp":
        model = mlp([int(h) for h in args.hidden.split(",")])
    else:
        conv1, conv2 = (int(c) for c in args.conv.split(","))
        model = cnn(conv1, conv2, args.cnn_hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.lr_decay)
    loss_fn = nn.CrossEntropyLoss()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), {blas_threads} OpenBLAS thread(s), DataLoader num_workers="
          f"{args.num_workers}, {args.model}, batch size {args.batch_size}", flush=True)

    seconds, cpu_seconds, accuracies = [], [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, cpu_start = time.perf_counter(), time.process_time()
        loss_sum, samples = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad(set_to_none=True)  # PyTorch 2's default; TorchEpochs does the same
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            samples += len(y)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        scheduler.step()

        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        accuracy = correct / len(test_data)
        seconds.append(elapsed)
        cpu_seconds.append(cpu)
        accuracies.append(accuracy)
        print(f"Epoch {epoch}/{args.epochs}: train loss {loss_sum / samples:.4f}, test accuracy {accuracy:.4f} "
              f"({elapsed:.2f} s training, {cpu:.2f} s CPU, {samples / elapsed:,.0f} samples/s)", flush=True)

    print("RESULT " + json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "accuracy": accuracies}))


if __name__ == "__main__":
    main()
