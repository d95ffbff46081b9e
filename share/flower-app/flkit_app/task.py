"""The model and data: logistic regression trained by gradient descent on synthetic data
that every node regenerates from (seed, partition-id, num-partitions), so runs are repeatable
and no data set has to be shipped."""

import numpy as np

NUM_FEATURES = 8
SAMPLES_PER_PARTITION = 400
TEST_FRACTION = 0.25


def _truth(seed: int) -> tuple[np.ndarray, float]:
    """The labelling rule shared by all partitions (and the server's test set)."""
    rng = np.random.default_rng([seed, 0xF1])
    return rng.normal(0.0, 1.0, NUM_FEATURES), float(rng.normal(0.0, 0.5))


def _sample(rng: np.random.Generator, seed: int, n: int, shift: float):
    w, b = _truth(seed)
    x = rng.normal(shift, 1.0, (n, NUM_FEATURES))
    # Noisy labels keep the optimum loss away from zero, like real data.
    p = 1.0 / (1.0 + np.exp(-2.0 * (x @ w + b)))
    y = (rng.random(n) < p).astype(np.float64)
    return x, y


def load_partition(seed: int, partition_id: int, num_partitions: int):
    """(x_train, y_train, x_test, y_test) of one partition. Partitions differ in their
    feature mean (non-IID), not in the labelling rule."""
    if not 0 <= partition_id < num_partitions:
        raise ValueError(
            f"partition-id {partition_id} is outside 0..{num_partitions - 1}; "
            "set --node-config 'partition-id=N num-partitions=M' on the SuperNode"
        )
    rng = np.random.default_rng([seed, partition_id, num_partitions])
    shift = (partition_id - (num_partitions - 1) / 2.0) * 0.5
    x, y = _sample(rng, seed, SAMPLES_PER_PARTITION, shift)
    cut = int(SAMPLES_PER_PARTITION * (1.0 - TEST_FRACTION))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def load_server_testset(seed: int):
    """A held-out set from the global distribution, for the ServerApp's own evaluation."""
    rng = np.random.default_rng([seed, 0x5E])
    return _sample(rng, seed, SAMPLES_PER_PARTITION, 0.0)


def initial_arrays() -> list[np.ndarray]:
    """A fresh model: weights and bias, all zero (loss ln 2)."""
    return [np.zeros(NUM_FEATURES, np.float64), np.zeros(1, np.float64)]


def loss_and_accuracy(arrays, x, y) -> tuple[float, float]:
    w, b = arrays[0], float(arrays[1][0])
    z = x @ w + b
    # log(1+e^z) - y*z, computed without overflow.
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    acc = float(np.mean((z > 0.0) == (y > 0.5)))
    return loss, acc


def train(arrays, x, y, lr: float, epochs: int, proximal_mu: float = 0.0):
    """Full-batch gradient descent. With proximal_mu > 0 (FedProx) the gradient carries the
    proximal term mu * (w - w_global), i.e. the loss gains (mu/2) * ||w - w_global||^2."""
    w_glob, b_glob = arrays[0].copy(), arrays[1].copy()
    w, b = arrays[0].astype(np.float64).copy(), arrays[1].astype(np.float64).copy()
    n = len(y)
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b[0])))
        gw = x.T @ (p - y) / n + proximal_mu * (w - w_glob)
        gb = np.array([np.mean(p - y)]) + proximal_mu * (b - b_glob)
        w -= lr * gw
        b -= lr * gb
    return [w, b]
