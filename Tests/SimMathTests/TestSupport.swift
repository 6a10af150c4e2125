/// |actual − expected| ≤ tolerance · max(|expected|, floor): a relative comparison that
/// stays meaningful when `expected` is near zero.
func isClose(_ actual: Double, _ expected: Double, relative tolerance: Double, floor: Double = 1e-300) -> Bool {
    abs(actual - expected) <= tolerance * max(abs(expected), floor)
}
