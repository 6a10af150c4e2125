import Foundation

/// Draws what is random in one step, for executors that sample instead of taking expectations
/// (the event engine). Lowering asks it per layer and per pass; without one, lowering uses the
/// closed-form expectations of ``RoutingStats``.
public protocol RoutingSampler: AnyObject {
    /// Tokens (or sequences) that run the layer once and twice, out of `decisions`, for one layer's
    /// per-decision probabilities: returns (ran at least once, ran twice).
    func depthCounts(decisions: Int, skip: Double, repeatProbability: Double) -> (atLeastOnce: Int, twice: Int)
    /// Loads of `experts` experts when `tokens` tokens each pick `topK` distinct experts
    /// (``TopKDesign``); the loads sum to tokens x topK and none exceeds `tokens`.
    func expertLoads(tokens: Int, topK: Int, experts: Int, routing: RoutingDistribution) -> [Int]
}

extension RoutingStats {
    /// Statistics of one drawn batch: the loads themselves instead of their expectations. `devices`
    /// groups of consecutive experts; the busiest device is the one the layer waits for.
    public static func sampled(loads: [Int], capacityFactor: Double?, devices: Int) -> RoutingStats {
        let experts = loads.count
        let assignments = Double(loads.reduce(0, +))
        let e = Double(max(1, experts))
        let balanced = assignments / e
        let maxLoad = Double(loads.max() ?? 0)
        var capacity: Double? = nil
        var dropped = 0.0
        if let factor = capacityFactor {
            let c = (factor * balanced).rounded(.up)
            capacity = c
            for load in loads { dropped += max(0, Double(load) - c) }
        }
        let touchedAll = Double(loads.reduce(0) { $0 + ($1 > 0 ? 1 : 0) })
        var maxDevice = assignments
        var touched = touchedAll
        if devices > 1, experts % devices == 0 {
            let per = experts / devices
            maxDevice = -1
            for d in 0..<devices {
                var sum = 0.0, hit = 0.0
                for i in (d * per)..<((d + 1) * per) {
                    sum += Double(loads[i])
                    if loads[i] > 0 { hit += 1 }
                }
                if sum > maxDevice { maxDevice = sum; touched = hit }
            }
            if let c = capacity { maxDevice = min(maxDevice, c * Double(per)) }
        }
        return RoutingStats(assignments: assignments, experts: experts, meanLoads: loads.map(Double.init),
                            expectedMaxLoad: maxLoad, imbalance: balanced > 0 ? maxLoad / balanced : 1, capacityRows: capacity,
                            droppedFraction: assignments > 0 ? dropped / assignments : 0,
                            expectedMaxDeviceLoad: maxDevice, devices: devices,
                            touchedExperts: touched, touchedExpertsAllDevices: touchedAll)
    }
}
