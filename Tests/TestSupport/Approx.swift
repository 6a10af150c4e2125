/// Shared by the test targets: one definition of what "close" means in this project's tests.

/// |a − b| ≤ rel · max(|a|, |b|), and exact equality for a == b (covers 0 == 0).
public func approx(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
    if a == b { return true }
    return abs(a - b) <= rel * max(abs(a), abs(b))
}
