"""Writes the TorchScript fixtures of StreamingLoader.Torch.Tests with PyTorch (Debian's python3-torch 1.13):

    /usr/bin/python3 tests/StreamingLoader.Torch.Tests/Data/make_scripted_models.py

scripted_mlp.pt    a module scripted in PyTorch, as a user would write one: [n, 1, 28, 28] (or [n, 784]) -> 10 logits.
tuple_output.pt    a module whose forward returns a tuple: the trainer must refuse it with a clear message.
"""
import os

import torch
from torch import nn


class ScriptedMlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(28 * 28, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        return self.out(torch.relu(self.hidden(x)))


class TupleOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor):
        y = self.linear(torch.flatten(x, 1))
        return y, y


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    torch.jit.script(ScriptedMlp()).save(os.path.join(here, "scripted_mlp.pt"))
    torch.jit.script(TupleOutput()).save(os.path.join(here, "tuple_output.pt"))


if __name__ == "__main__":
    main()
