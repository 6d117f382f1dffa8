"""The PyTorch side of examples/cnn_digits.rs: loads the weights the example
wrote into the nn.Sequential of the example's docs with
load_state_dict(strict=True), runs the 360 test digits through it, and checks
that PyTorch gets the test accuracy (and the predictions) the example printed.

Run from the crate root, after the example:
    cargo run --release --example cnn_digits
    /tmp/peer-venv/bin/python examples/cnn_digits_torch.py [OUT_DIR]
OUT_DIR defaults to target/weightwise-out/cnn_digits (the example's default).
Needs numpy, torch and safetensors.
"""

import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "weightwise-out" / "cnn_digits"

# The network of examples/cnn_digits.rs, as its docs print it.
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
)
state = load_file(OUT / "cnn_digits.safetensors")
model.load_state_dict(state, strict=True)  # every name and shape must match
model.eval()

# The crate's digits: label, 64 pixels 0..16; test rows in digits_split.txt order.
table = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1, dtype=np.float32)
test = [int(line) for line in (ROOT / "data" / "digits_split.txt").read_text().split()]
x = torch.from_numpy(table[test, 1:] / 16.0).reshape(-1, 1, 8, 8)
labels = table[test, 0].astype(np.int64)

with torch.no_grad():
    predicted = model(x).argmax(dim=1).numpy()
accuracy = float((predicted == labels).mean())

ours = (OUT / "cnn_digits_predictions.txt").read_text().split()
ours_accuracy = float(ours[0])
ours_predicted = np.array([int(p) for p in ours[1:]])
agree = int((ours_predicted == predicted).sum())
print(f"PyTorch {torch.__version__}: test accuracy {accuracy:.4f} "
      f"(weightwise printed {ours_accuracy:.4f}); predictions agree on {agree}/{len(test)}")
if abs(accuracy - ours_accuracy) > 1e-9 or agree != len(test):
    sys.exit("the PyTorch round trip does not reproduce the example's test accuracy")
